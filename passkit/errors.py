"""The one exception a user is meant to see: a plain sentence, never a traceback."""


class PasskitError(Exception):
    """Bad input or configuration, explained in one line naming the file, row or column.

    The CLI prints it as ``passkit: <message>`` and exits with status 2.
    """

    def __init__(self, message: str, *, file=None, line=None, column=None):
        where = ", ".join(
            part
            for part in (
                str(file) if file is not None else None,
                f"line {line}" if line is not None else None,
                f"column '{column}'" if column is not None else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.line, self.column = file, line, column
