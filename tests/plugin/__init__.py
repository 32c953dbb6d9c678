"""pytester tests of the pytest plugin: fixtures, marker, ini options, teardown."""
