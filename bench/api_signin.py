"""What an API request's sign-in and membership check cost, piece by piece, beside the bare SQL.

    python bench/api_signin.py [--count 5000]

One person and one token in a fresh SQLite database; each line times, in the
same run and one after another, a fresh session per lookup as a request has:
the sign-in lookup the API uses (`tokens.bearer`: one ORM statement loading
the person as a `User`), the same statement read as a plain Core row (no
`User`), that row made into a `User` put in the session as if the ORM had
loaded it (a change tried and dropped; docs/benchmarks.md), the session
with only its connection's checkout and return, and the statement's SQL in
bare `sqlite3`. Also the membership check of a create: a person read by id
and their departments loaded as entities (User.is_member before), beside the
same person and one membership lookup (User.is_member now). Process CPU per
lookup.
"""

import argparse
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import bindparam, select
from sqlalchemy.orm import make_transient_to_detached

from civicpost import tokens
from civicpost.db import Base, make_engine, make_sessionmaker, transaction
from civicpost.models import ApiToken, Department, User
from civicpost.security import hash_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="civicpost-signin-"))
    try:
        path = workdir / "signin.db"
        engine = make_engine(f"sqlite:///{path}")
        Base.metadata.create_all(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            departments = [Department(slug=f"d{n}", name=f"Department {n}") for n in range(3)]
            person = User(email="reader@example.org", name="Reader", password_hash="-", role="staff",
                          departments=departments)
            session.add(person)
            session.flush()
            person_id, department_id = person.id, departments[1].id
            token = tokens.create_token(session, user=person)
        token_hash = hash_token(token)
        core = (
            select(*User.__table__.columns, ApiToken.id.label("token_id"), ApiToken.expires_at,
                   ApiToken.last_used_at, ApiToken.scopes)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None),
                   User.active.is_(True))
        )
        bare = sqlite3.connect(path)
        sql = str(core.compile(engine)).replace(":token_hash", "?")

        def orm_user() -> None:
            with sessions() as session:
                tokens.bearer(session, token)

        def core_row() -> None:
            with sessions() as session:
                session.connection().execute(core, {"token_hash": token_hash}).first()

        keys = [column.key for column in User.__table__.columns]

        def core_row_then_user() -> None:
            # The change tried and dropped: the Core row, then the person put in
            # the session as if the ORM had loaded them.
            with sessions() as session:
                row = session.connection().execute(core, {"token_hash": token_hash}).first()
                assert row is not None
                user = User(**dict(zip(keys, row[: len(keys)], strict=True)))
                make_transient_to_detached(user)
                session.add(user)

        def member_loaded() -> None:
            # What User.is_member did before: load the person's departments as entities.
            with sessions() as session:
                user = session.get(User, person_id)
                assert user is not None
                assert any(d.id == department_id for d in user.departments)

        def member_lookup() -> None:
            with sessions() as session:
                user = session.get(User, person_id)
                assert user is not None
                assert user.is_member(department_id)

        def checkout_only() -> None:
            with sessions() as session:
                session.connection()

        def bare_sql() -> None:
            bare.execute(sql, (token_hash,)).fetchone()

        kinds: dict[str, Callable[[], None]] = {
            "sign-in lookup (tokens.bearer, ORM User)": orm_user,
            "same statement, Core row": core_row,
            "Core row + User made as if loaded": core_row_then_user,
            "person + departments loaded, member?": member_loaded,
            "person + one membership lookup (User.is_member)": member_lookup,
            "session + connection checkout/return": checkout_only,
            "bare sqlite3, same SQL": bare_sql,
        }
        for number in range(1, args.rounds + 1):
            figures = []
            for name, run in kinds.items():
                start = time.process_time()
                for _ in range(args.count):
                    run()
                figures.append(f"{name} {(time.process_time() - start) / args.count * 1e6:.0f} µs")
            print(f"round {number}: " + "; ".join(figures))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
