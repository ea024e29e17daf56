"""The base of errors whose message is meant for the user (operator), not a developer."""


class InvalidInput(ValueError):
    """Input the user can correct; ``str(error)`` says what is wrong and where.

    Services raise subclasses of this; the CLI prints it as one line, the console as a form
    error, the API as a 400/422 answer.
    """
