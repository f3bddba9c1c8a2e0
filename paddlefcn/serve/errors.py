"""``RequestError``: a bad request, answered with its HTTP status and a one-line JSON error."""

from __future__ import annotations

from paddlefcn.errors import PaddleFCNError


class RequestError(PaddleFCNError):
    """A request the server refuses, with the HTTP status to answer it with.

    Args:
        status: The HTTP status code (4xx for the client's mistakes, 503 when the queue is full).
        message: One line naming the problem.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
