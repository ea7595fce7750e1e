"""
Every error answer is problem details built from the exception alone
(``planner_app/api/problems.py``): its status for the caller's role, its
detail in the project's words, its code and extra members.
"""

from __future__ import annotations

import logging
import uuid

from planner_app.api.auth import ANON, AuthError, Caller
from planner_app.api.limits import BodyTooLargeError, PoolTimeoutError
from planner_app.api.problems import problem_for, problem_response
from planner_app.errors import (
    REFERENCE_DETAIL,
    WEEK_LOCKED_HINT,
    BudgetExceededError,
    NotFoundError,
    OwnershipError,
    PlannerError,
    ValidationError,
    week_locked,
)

USER = Caller("authenticated", uuid.uuid4(), {})


def test_a_locked_week_is_423_with_the_lock_contract():
    cycle_id = uuid.uuid4()
    problem = problem_for(week_locked(cycle_id, 9, "change_quota"), USER)
    assert problem.model_dump(exclude_none=True) == {
        "type": "about:blank",
        "title": "Locked",
        "status": 423,
        "detail": f"week 9 of cycle {cycle_id} is locked: cannot change a plan "
        "item's quota",
        "code": "PT423",
        "hint": WEEK_LOCKED_HINT,
        "cycle_id": cycle_id,
        "week_no": 9,
        "operation": "change_quota",
    }


def test_a_refused_privilege_is_401_for_anon_and_403_otherwise():
    error = OwnershipError("anonymous callers have no plan")
    assert problem_for(error, ANON).status == 401
    assert problem_for(error, USER).status == 403
    assert problem_for(error, ANON).detail.startswith("sign in")


def test_a_missing_reference_reads_the_same_whichever_rule_refused_it():
    for error in (
        NotFoundError("the user does not exist: ...", sqlstate="23503"),
        NotFoundError("x", sqlstate="23503", constraint="goal_cycle_same_owner_fkey"),
    ):
        problem = problem_for(error, USER)
        assert (problem.status, problem.detail, problem.code) == (
            404,
            REFERENCE_DETAIL,
            "23503",
        )


def test_a_budget_answer_says_which_budget():
    error = BudgetExceededError(
        "the session already has 500 messages",
        budget={"budget": "messages_per_session", "limit": 500, "status": 1},
    )
    problem = problem_for(error, USER).model_dump(exclude_none=True)
    assert problem["status"] == 429 and problem["code"] == "PT429"
    assert (problem["budget"], problem["limit"]) == ("messages_per_session", 500)


def test_retry_and_authentication_headers_come_with_their_answers():
    assert problem_response(PoolTimeoutError("busy")).headers["retry-after"] == "1"
    assert (
        problem_response(AuthError("bad"))
        .headers["www-authenticate"]
        .startswith("Bearer")
    )
    assert problem_response(BodyTooLargeError("big")).headers["connection"] == "close"


def test_an_error_of_the_project_keeps_its_words_and_a_bug_tells_nothing(caplog):
    assert problem_for(ValidationError("the body must be a JSON object")).detail == (
        "the body must be a JSON object"
    )
    with caplog.at_level(logging.ERROR):
        problem = problem_for(PlannerError("KeyError: 'password'"), USER)
    assert (problem.status, problem.detail) == (500, "internal error")
    assert "password" in caplog.text
