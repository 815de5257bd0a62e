"""The defect state machine: which actions each state allows. Said once, here; the services
refuse what a state does not allow, and the pages offer exactly the allowed actions."""

from dataclasses import dataclass

from defects.models import Defect

State = Defect.State

ACKNOWLEDGE = "acknowledge"
CLASSIFY = "classify"
ASSIGN = "assign"
ROUTE = "route"
RESOLVE = "resolve"
REOPEN = "reopen"
MUTE = "mute"
COMMENT = "comment"
ACTIONS = (ACKNOWLEDGE, CLASSIFY, ASSIGN, ROUTE, RESOLVE, REOPEN, MUTE, COMMENT)

# Classifying, routing, assigning and commenting never change the state, so every state
# allows them.
_ANY_STATE = (CLASSIFY, ROUTE, ASSIGN)
ALLOWED: dict[str, tuple[str, ...]] = {
    State.NEW: (ACKNOWLEDGE, *_ANY_STATE, RESOLVE, MUTE, COMMENT),
    State.REGRESSED: (ACKNOWLEDGE, *_ANY_STATE, RESOLVE, MUTE, COMMENT),
    State.ACKNOWLEDGED: (*_ANY_STATE, RESOLVE, MUTE, COMMENT),
    State.MUTED: (*_ANY_STATE, REOPEN, RESOLVE, MUTE, COMMENT),
    State.RESOLVED: (*_ANY_STATE, REOPEN, COMMENT),
}

# What the defect list offers to do to many defects at once; each still only changes the
# defects whose state allows it.
BULK_ACTIONS = (
    (ACKNOWLEDGE, "acknowledge"),
    (CLASSIFY, "classify as…"),
    (ROUTE, "route to…"),
    (RESOLVE, "resolve"),
    (REOPEN, "reopen"),
)

# The defect list's state filter: names a person picks, each standing for some states.
STATE_FILTERS = {
    "open": list(Defect.OPEN_STATES),
    "muted": [State.MUTED],
    "resolved": [State.RESOLVED],
    "all": list(State.values),
}


# Why a state refuses an action, in words a person reads.
_REFUSALS = {
    ACKNOWLEDGE: "a {state} defect cannot be acknowledged",
    RESOLVE: "already resolved",
    REOPEN: "a {state} defect is already open",
    MUTE: "a resolved defect needs no mute; it reopens if it fails again",
}


def allowed_actions(state: str) -> tuple[str, ...]:
    return ALLOWED.get(state, ())


@dataclass(frozen=True)
class ActionForm:
    """How the defect page offers an action: its button and the reason it asks for."""

    name: str
    button: str
    reason: str = ""  # the reason field's label; empty when the action takes no reason
    reason_required: bool = False
    primary: bool = False


_FORMS = {
    ACKNOWLEDGE: ActionForm(ACKNOWLEDGE, "Acknowledge", primary=True),
    CLASSIFY: ActionForm(CLASSIFY, "Classify", "Why (optional)"),
    ROUTE: ActionForm(ROUTE, "Route", "Why (required)", reason_required=True),
    ASSIGN: ActionForm(ASSIGN, "Assign"),
    RESOLVE: ActionForm(RESOLVE, "Resolve", "Fix or reason (optional)"),
    REOPEN: ActionForm(REOPEN, "Reopen", "Why (optional)"),
    MUTE: ActionForm(MUTE, "Mute", "Why (required)", reason_required=True),
    COMMENT: ActionForm(COMMENT, "Add comment"),
}


def action_forms(state: str) -> list[ActionForm]:
    """The actions a defect in `state` allows, in the order the page shows them."""
    return [_FORMS[action] for action in allowed_actions(state)]


def allows(state: str, action: str) -> bool:
    return action in allowed_actions(state)


def refusal(state: str, action: str) -> str:
    return _REFUSALS.get(action, "a {state} defect does not allow " + action).format(state=state)
