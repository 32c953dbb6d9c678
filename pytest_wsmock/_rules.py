"""Background rules: "whenever the client sends this, answer with that", alongside a script or
a handler.

A `Rule` is a value: a trigger (an ``expect_*`` step used as a matcher), responses (steps, or
functions that build steps from the matched message), and how often and how it answers. The
engine (``_reading.py``) offers each client message, ping and pong to a connection's rules
before anything else sees it, and runs the first matching rule's responses in the task that
reads the connection, so the answer is on the wire before the next client frame is read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._errors import ConfigError
from ._records import Frame, Message
from ._steps import Step, check_steps

#: What a rule's response function gets (the matched message, or the ping or pong frame)
#: and may return: a step, several, or nothing.
ResponseFunction = Callable[[Message | Frame], Step | Sequence[Step] | None]
Response = Step | ResponseFunction


@dataclass(frozen=True, repr=False, eq=False)
class Rule:
    """A background rule: answer every client message that matches ``trigger``.

    Made by :func:`rule`, ``ws_server.on(...)`` and ``conn.on(...)``; see docs/rules.md.

    Attributes:
        trigger: the ``expect_*`` step used as the matcher.
        responses: steps to run, in order, or functions of the matched message (or ping or
            pong frame) that return steps.
        times: answer at most this many times per connection (``None``: every time).
        consume: whether a matched message is kept from the script or handler.
    """

    trigger: Step
    responses: tuple[Response, ...]
    times: int | None = None
    consume: bool = True

    def describe(self) -> str:
        """``rule(expect_json({'type': 'ping'}), send_json({'type': 'pong'}), times=2)``."""
        parts = [self.trigger.describe(), *(describe_response(r) for r in self.responses)]
        if self.times is not None:
            parts.append(f"times={self.times}")
        if not self.consume:
            parts.append("consume=False")
        return f"rule({', '.join(parts)})"

    def __repr__(self) -> str:
        return self.describe()

    def answer(self, item: Message | Frame) -> list[Step]:
        """The steps that answer ``item``, in order (a response function is called here).

        Raises:
            ConfigError: a response function returned something that is not steps.
            Exception: whatever a response function raised.
        """
        steps: list[Step] = []
        for response in self.responses:
            if isinstance(response, Step):
                steps.append(response)
                continue
            made = response(item)
            if made is None:
                continue
            if isinstance(made, Step):
                steps.append(made)
            elif isinstance(made, Sequence) and not isinstance(made, (str, bytes)):
                steps.extend(check_responses(made, describe_response(response)))
            else:
                raise ConfigError(
                    f"the response function {describe_response(response)} of {self.describe()} "
                    f"returned {made!r}; it must return a step (send_json(...)), a list of "
                    f"steps, or None"
                )
        return steps


def describe_response(response: Response) -> str:
    if isinstance(response, Step):
        return response.describe()
    return f"<function {getattr(response, '__name__', repr(response))}>"


def check_responses(steps: Sequence[object], where: str) -> list[Step]:
    """Steps a response may run: no expectations (the rule runs in the task that reads the
    connection, so a response that waited for the client would wait for itself)."""
    checked = list(check_steps(steps))
    for step in checked:
        if step.expects:
            raise ConfigError(
                f"{where}: {step.describe()} waits for the client, which a rule's response "
                f"cannot do (it runs while the server reads the client); answer with send "
                f"steps, close(...) or a fault, and use a script for the conversation"
            )
    return checked


def rule(
    trigger: Step,
    *responses: Step | ResponseFunction,
    times: int | None = None,
    consume: bool = True,
) -> Rule:
    """A background rule: whenever the client sends a message that ``trigger`` matches,
    answer with ``responses``.

    ``rule(expect_json({"type": "ping"}), send_json({"type": "pong"}))``. Give it to
    ``@pytest.mark.wsmock(rules=[...])`` or ``ws_server_factory(rules=[...])``; or call
    ``ws_server.on(...)`` or ``conn.on(...)``, which take the same arguments.

    Args:
        trigger: ``expect_text``, ``expect_binary``, ``expect_json``, ``expect_message``,
            ``expect_ping`` or ``expect_pong``, used as a matcher (its timeout has no use).
        responses: steps (``send_json(...)``, ``send_ping()``, ``close(...)``, any step that
            does not wait for the client), or functions that take the matched :class:`Message`
            (for ``expect_ping``/``expect_pong``: the :class:`Frame`) and return a step, a list
            of steps, or ``None``.
        times: answer at most this many times per connection; later messages go on to the
            script or handler as if the rule were not there.
        consume: ``False``: answer, and still give the message to the script or handler.

    Raises:
        ConfigError: the trigger is not such a step, a response is neither a step nor a
            function, or ``times`` is not an int >= 1.
    """
    if not isinstance(trigger, Step) or trigger.trigger_kind() is None:
        raise ConfigError(
            f"a rule's trigger must be an expect_* step used as a matcher (expect_text, "
            f"expect_binary, expect_json, expect_message, expect_ping, expect_pong), got "
            f"{trigger!r}"
        )
    for response in responses:
        if isinstance(response, Step):
            check_responses([response], f"the rule on {trigger.describe()}")
        elif not callable(response):
            raise ConfigError(
                f"a rule's response must be a step (send_json(...), send_text(...), close()) "
                f"or a function of the matched message returning steps; got {response!r} in "
                f"the rule on {trigger.describe()}"
            )
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise ConfigError(
            f"a rule's times must be an int >= 1 (or None: every time), got {times!r} in the "
            f"rule on {trigger.describe()}"
        )
    if not isinstance(consume, bool):
        raise ConfigError(f"a rule's consume must be True or False, got {consume!r}")
    return Rule(trigger, tuple(responses), times, consume)


def check_rules(name: str, value: object) -> tuple[Rule, ...]:
    """The ``rules`` option: a sequence of :class:`Rule` values, as a tuple."""
    if isinstance(value, Rule):
        value = (value,)
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or not all(isinstance(item, Rule) for item in value)
    ):
        raise ConfigError(
            f"wsmock option {name} must be a list of rules made by rule(...), got {value!r} "
            f'(e.g. {name}=[rule(expect_json({{"type": "ping"}}), send_json({{"type": "pong"}}))])'
        )
    return tuple(value)
