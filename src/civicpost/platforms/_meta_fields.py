"""The shapes of Meta's account settings, shared by Instagram and Threads."""

from typing import Annotated

from pydantic import StringConstraints

# Meta's numeric ids (an Instagram professional account, a Threads user).
AccountId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,32}$")]
# Instagram and Threads names: letters, digits, periods and underscores, 30 at most.
Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^@?[A-Za-z0-9._]{1,30}$")]
GraphVersion = Annotated[str, StringConstraints(pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")]
