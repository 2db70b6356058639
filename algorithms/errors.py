"""The one error type for bad user input (unknown task, malformed config, wrong dataset).

Its message names the input and the fix; the CLI prints it on one line and exits non-zero.
"""


class UserInputError(ValueError):
    pass


def check_choice(name: str, value, allowed: tuple[str, ...]) -> None:
    """A setting that takes one of a few names: anything else is refused, naming them."""
    if value not in allowed:
        raise UserInputError(f"{name} = {value!r}; expected one of {', '.join(allowed)}")
