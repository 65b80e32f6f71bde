"""The one error type of the tracking package (no MLflow import here, so a CLI can catch it cheaply)."""


class TrackingError(RuntimeError):
    """MLflow could not be reached or refused a request; the message is one line naming the store.

    ``unreachable`` is True when the store could not be contacted at all (server down, database missing), so a
    caller can tell "retry later" from "fix the request".
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
