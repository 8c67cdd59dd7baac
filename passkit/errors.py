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


def without_students(text: str, data) -> str:
    """`text` with every student id and name `data` knows replaced by "[student]".

    For messages that may quote a value from the data (a notebook's exception, a kernel's last
    words) on their way to a terminal, a log or a page. Whole words only, and not values shorter
    than 3 characters (they would hit line numbers and grades; ids and names are longer).
    """
    import re

    students = getattr(data, "students", None)
    if not text or students is None:
        return text
    table = students.select("student_id", "student_name").collect("pandas").to_native()
    values = {str(v) for column in ("student_id", "student_name") for v in table[column].dropna() if len(str(v)) >= 3}
    for value in sorted((v for v in values if v in text), key=len, reverse=True):  # longest first: a full name
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "[student]", text)
    return text
