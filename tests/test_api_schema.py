"""Schemathesis against /openapi.json: requests made from the documented shapes
(and deliberately broken ones) by an admin and by a staff member. No answer is
a 5xx, and every answer is one the document describes, in the shape it gives.

Bounded: a fixed seed (derandomised Hypothesis) and a fixed number of examples
per operation, so a run takes the same path every time and well under two
minutes. Tokens are made afresh and everyone reactivated before each request:
a generated request may revoke the token or deactivate the person it runs as.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode
from sqlalchemy import update

from civicpost import accounts
from civicpost.db import transaction
from civicpost.models import User

EXAMPLES = {GenerationMode.POSITIVE: 22, GenerationMode.NEGATIVE: 6}
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]


def _fresh_token(sessions, person_id: int) -> str:
    with transaction(sessions) as session:
        session.execute(update(User).values(active=True))
        return accounts.create_token(session, user=session.get(User, person_id))


@pytest.mark.slow
@pytest.mark.parametrize("who", ["admin", "parks_staff"])
def test_generated_requests_never_meet_a_server_error_and_every_answer_is_documented(app, client, city, draft,
                                                                                     sessions, who):
    draft()  # something to read, edit and approve besides what the requests make
    person = getattr(city, who)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    answered: dict[int, int] = {}
    for operation in operations:
        for mode, count in EXAMPLES.items():
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=count, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                token = _fresh_token(sessions, person.id)
                response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
                answered[response.status_code] = answered.get(response.status_code, 0) + 1

            try:
                run()
            except Unsatisfiable:
                # An operation without parameters or body has no wrong request to make.
                assert mode is GenerationMode.NEGATIVE, operation.label
    # The run reached the handlers, not only the validation in front of them.
    assert sum(answered.values()) >= 10 * len(operations), answered
    assert sum(n for status, n in answered.items() if status < 300) >= len(operations), answered
