"""The one error type for bad user input (unknown task, malformed config, wrong dataset).

Its message names the input and the fix; the CLI prints it on one line and exits non-zero.
"""


class UserInputError(ValueError):
    pass
