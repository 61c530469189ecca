"""Stage-definition scenarios: a clean catalog + deal history, and one switch per audit defect.

The default sandbox data is messy on purpose (random skips, backward moves, an unmapped custom
stage). A scenario instead builds every deal from a small template whose outcomes match the
catalog exactly, so the audit, run with ``mapping_toml(scenario)`` as the config's mapping, finds
nothing on ``clean``. Each defect switch (named after the audit check that should find it) then
changes one thing: the catalog, the history, or (``closed_flag_conflict`` only, as that defect
*is* a wrong map) the mapping.

Sizes: a scenario builds ``max(1, deals // TEMPLATE_DEALS)`` copies of its template (28
Salesforce and 33 HubSpot deals a copy); catalog probabilities are the template's exact win
rates, so the counts scale without new findings (checked at 30, 300 and 1,500 deals: clean has
none, each switch exactly its own). "defects" needs two copies (deals >= 60) for
max_days_vs_p90: with every switch on, one copy leaves nine decision stays, under the check's
ten. Leads are the default generator's: with leads, the identity checks (people in both CRMs,
not stage definitions) report their conflicts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from funnelsync.sandbox.common import DAY_MS
from funnelsync.sandbox.hubspot.schema import CUSTOM_PIPELINE_ID, PIPELINES

DEFECTS = ("unmapped_stage", "missing_stage", "probability_order", "probability_calibration",
           "stage_unused", "stage_skipped", "backward_moves", "closed_flag_conflict",
           "cross_crm_mismatch", "max_days_vs_p90")
SCENARIOS = ("default", "clean", "defects", *DEFECTS)  # "defects": every switch at once
TEMPLATE_DEALS = 30

Leg = tuple[str, float]  # (stage, days spent in it before the next stage)


@dataclass(frozen=True)
class Funnel:
    """The template of one pipeline: open stages in order, days in each, closed outcomes."""

    pipeline: str | None  # HubSpot pipeline id; None for Salesforce
    stages: tuple[str, ...]
    days: tuple[float, ...]
    lost_after: tuple[int, ...]  # closed-lost deals per copy whose last open stage is stages[i]
    won: int
    won_stage: str
    lost_stage: str

    def probabilities(self) -> dict[str, int]:
        """Percent per open stage that equals won / closed deals reaching it (calibrated)."""
        out: dict[str, int] = {}
        reached = self.won
        for stage, lost in reversed(list(zip(self.stages, self.lost_after, strict=True))):
            reached += lost
            out[stage] = round(100 * self.won / reached)
        return out


SF = Funnel(None, ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                   "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                   "Negotiation/Review"),
            (5, 5, 3.5, 3.5, 3.5, 3.5, 5, 5), (0, 4, 6, 2, 0, 2, 1, 1), 4,
            "Closed Won", "Closed Lost")
# cross_crm_mismatch: every Salesforce deal that reaches Proposal/Price Quote is won, so its
# decision stages say 100% while HubSpot's win about two thirds.
SF_DECIDED = replace(SF, lost_after=(0, 4, 6, 2, 0, 2, 0, 0), won=6)
HS_DEFAULT = Funnel("default", ("appointmentscheduled", "qualifiedtobuy",
                                "presentationscheduled", "decisionmakerboughtin", "contractsent"),
                    (5, 5, 7, 7, 10), (4, 4, 2, 1, 1), 4, "closedwon", "closedlost")
HS_CUSTOM = Funnel(CUSTOM_PIPELINE_ID, ("1190341", "1190342", "1190343", "1190344"),
                   (5, 5, 5, 5), (3, 1, 1, 1), 2, "1190345", "1190346")
DECISION_STAGES = ("Proposal/Price Quote", "Negotiation/Review", "contractsent", "1190343",
                   "1190344")

# The map a config needs besides the built-in defaults: the custom pipeline's stages.
_MAPPING = """
[mapping.hubspot.deal_stages.2847561]
1190341 = "consideration"
1190342 = "consideration"
1190343 = "decision"
1190344 = "decision"
1190345 = "purchase"
1190346 = "lost"
"""
_CLOSED_WON_AS_DECISION = """
[mapping.salesforce.opportunity_stage]
"Closed Won" = "decision"
"""


@dataclass(frozen=True)
class Journey:
    """One deal: the stages it entered and how long it stayed, ending ``ago`` days before the
    anchor (the last stage is where an open deal is now, or its closed stage)."""

    pipeline: str | None
    legs: tuple[Leg, ...]
    ago: float

    @property
    def path(self) -> list[str]:
        return [stage for stage, _ in self.legs]

    @property
    def won(self) -> bool:
        return self.legs[-1][0] in (SF.won_stage, HS_DEFAULT.won_stage, HS_CUSTOM.won_stage)

    def times(self, now_ms: int) -> list[int]:
        """Entry time (epoch ms) of each stage, oldest first."""
        at = now_ms - round(self.ago * DAY_MS)
        out = [at]
        for _, days in reversed(self.legs[:-1]):
            at -= round(days * DAY_MS)
            out.append(at)
        return out[::-1]


@dataclass
class Plan:
    """What a scenario changes in the generated data: every deal, and the catalogs."""

    salesforce: list[Journey]
    hubspot: list[Journey]
    sf_stages: dict[str, dict[str, Any]]  # ApiName -> OpportunityStage field overrides
    hs_probabilities: dict[str, float]  # stage id -> percent
    hs_removed: set[str] = field(default_factory=set)  # stage ids the portal deleted
    defects: tuple[str, ...] = ()

    def hs_pipelines(self) -> tuple:
        """The HubSpot PIPELINES with this plan's probabilities and without removed stages."""
        return tuple((pid, label, tuple(
            (sid, slabel, _fraction(self.hs_probabilities.get(sid)) or prob, closed)
            for sid, slabel, prob, closed in stages if sid not in self.hs_removed))
            for pid, label, stages in PIPELINES)


def _fraction(percent: float | None) -> str | None:
    return None if percent is None else f"{percent / 100:g}"


def parse(scenario: str) -> tuple[str, ...] | None:
    """Defect switches of a scenario: None for the default data, () for clean. Accepts one name
    of SCENARIOS or a comma-separated list of defects."""
    names = [n.strip() for n in scenario.split(",") if n.strip()]
    if names in (["default"], []):
        return None
    if names == ["clean"]:
        return ()
    if names == ["defects"]:
        return DEFECTS
    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; use one of "
                         f"{', '.join(SCENARIOS)} (or defects joined by commas)")
    return tuple(n for n in DEFECTS if n in names)


def mapping_toml(scenario: str) -> str:
    """The [mapping] tables of a config matching the scenario ("" for the default data)."""
    defects = parse(scenario)
    if defects is None:
        return ""
    extra = _CLOSED_WON_AS_DECISION if "closed_flag_conflict" in defects else ""
    return _MAPPING + extra


def build(scenario: str, deals: int) -> Plan | None:
    """The plan of a scenario for a sandbox asked for ``deals`` deals; None: default data."""
    defects = parse(scenario)
    if defects is None:
        return None
    copies = max(1, deals // TEMPLATE_DEALS)
    counter = itertools.count()
    sf = SF_DECIDED if "cross_crm_mismatch" in defects else SF
    plan = Plan(_journeys(sf, copies, counter),
                _journeys(HS_DEFAULT, copies, counter) + _journeys(HS_CUSTOM, copies, counter),
                {name: {"DefaultProbability": float(p)} for name, p in sf.probabilities().items()},
                {**HS_DEFAULT.probabilities(), **HS_CUSTOM.probabilities()},
                defects=defects)
    plan.sf_stages["Technical Validation"] = {"IsActive": False}  # a retired custom stage
    for name in defects:
        SWITCHES[name](plan)
    return plan


def _journeys(funnel: Funnel, copies: int, counter: Iterator[int]) -> list[Journey]:
    """Every deal of ``copies`` templates: lost, won, then one open deal per stage."""
    shapes: list[tuple[tuple[str, ...], bool]] = []
    for i, lost in enumerate(funnel.lost_after):
        shapes += [((*funnel.stages[: i + 1], funnel.lost_stage), True)] * lost
    shapes += [((*funnel.stages, funnel.won_stage), True)] * funnel.won
    shapes += [(funnel.stages[: i + 1], False) for i in range(len(funnel.stages))]
    out = []
    for _ in range(copies):
        for path, closed in shapes:
            k = next(counter)
            factor = 0.75 + (k * 7 % 11) / 20  # 0.75-1.25: stays vary, deterministically
            opened = path[:-1] if closed else path
            legs = tuple((stage, round(days * factor, 3))
                         for stage, days in zip(opened, funnel.days, strict=False))
            legs += ((path[-1], 0.0),) if closed else ()
            ago = 2 + k * 13 % 50 if closed else 1 + k % 5  # open deals moved in recently
            out.append(Journey(funnel.pipeline, legs, ago))
    return out


# -- changing journeys ----------------------------------------------------------------------
def _merged(legs: list[Leg]) -> tuple[Leg, ...]:
    """Consecutive legs in one stage become one leg (their days add up)."""
    out: list[Leg] = []
    for stage, days in legs:
        if out and out[-1][0] == stage:
            out[-1] = (stage, out[-1][1] + days)
        else:
            out.append((stage, days))
    return tuple(out)


def _rename(old: str, new: str) -> Callable[[Journey], Journey]:
    """Deals go to ``new`` where they went to ``old`` (the time there is kept)."""
    return lambda j: replace(j, legs=_merged([(new if s == old else s, d) for s, d in j.legs]))


def _split(stage: str, into: tuple[str, ...], *,
           when: Callable[[Journey], bool]) -> Callable[[Journey], Journey]:
    """Deals that move on from ``stage`` go through ``into`` instead, sharing its time."""
    def change(j: Journey) -> Journey:
        legs: list[Leg] = []
        for i, (s, d) in enumerate(j.legs):
            if s == stage and i < len(j.legs) - 1 and when(j):
                legs += [(x, d / len(into)) for x in into]
            else:
                legs.append((s, d))
        return replace(j, legs=tuple(legs))
    return change


def _on(journeys: list[Journey], pipeline: str | None, change: Callable[[Journey], Journey],
        when: Callable[[Journey], bool] = lambda j: True) -> list[Journey]:
    return [change(j) if j.pipeline == pipeline and when(j) else j for j in journeys]


def _next_is_open(stage: str, funnel: Funnel) -> Callable[[Journey], bool]:
    nxt = funnel.stages[funnel.stages.index(stage) + 1]
    return lambda j: nxt in j.path


# -- the switches ---------------------------------------------------------------------------
def _unmapped_stage(plan: Plan) -> None:
    """The org activates its custom stage "Technical Validation" (between Value Proposition
    and Id. Decision Makers) and deals go through it; the map does not know it."""
    # Its deals are those of the next stage: the same win rate (switches run in DEFECTS
    # order, so probability_order has not moved that one yet).
    won = plan.sf_stages["Id. Decision Makers"]["DefaultProbability"]
    plan.sf_stages["Technical Validation"] = {"IsActive": True, "DefaultProbability": won}
    through = ("Value Proposition", "Technical Validation")
    plan.salesforce = _on(plan.salesforce, None, _split(
        "Value Proposition", through, when=_next_is_open("Value Proposition", SF)))


def _missing_stage(plan: Plan) -> None:
    """The portal deleted "Verbal Commit" (1190344) from its custom pipeline; the config still
    maps it. Its deals stay in Proposal instead."""
    plan.hs_removed.add("1190344")
    plan.hubspot = _on(plan.hubspot, CUSTOM_PIPELINE_ID, _rename("1190344", "1190343"))


def _probability_order(plan: Plan) -> None:
    """Id. Decision Makers says 2 points more than it wins, Perception Analysis after it 2
    points less (both win 50%: close enough for the calibration check up to ~1,500 deals)."""
    stages = plan.sf_stages
    won = stages["Id. Decision Makers"]["DefaultProbability"]
    stages["Id. Decision Makers"]["DefaultProbability"] = won + 2
    stages["Perception Analysis"]["DefaultProbability"] = won - 2


def _probability_calibration(plan: Plan) -> None:
    """Prospecting says 2% but 4 of the 20 closed deals that entered it were won."""
    plan.sf_stages["Prospecting"]["DefaultProbability"] = 2.0


def _stage_unused(plan: Plan) -> None:
    """HubSpot deals are now created at "Qualified To Buy": none enters the pipeline's first
    stage, "Appointment Scheduled", any more (never in this history). Qualified To Buy's
    probability follows its new win rate (4 of 16)."""
    plan.hubspot = _on(plan.hubspot, "default",
                       _rename("appointmentscheduled", "qualifiedtobuy"))
    plan.hs_probabilities["qualifiedtobuy"] = 25


def _stage_skipped(plan: Plan) -> None:
    """Most Salesforce deals that reach Negotiation/Review jump there from Perception
    Analysis: every other won deal, the lost and the open ones (4 of the 6 a copy that went
    past Proposal/Price Quote). The won ones still passing it keep its win rate at 2 of 3."""
    skip = _rename("Proposal/Price Quote", "Negotiation/Review")
    won = itertools.count()
    plan.salesforce = [
        skip(j) if j.pipeline is None and "Negotiation/Review" in j.path
        and (not j.won or next(won) % 2 == 0) else j for j in plan.salesforce]


def _backward_moves(plan: Plan) -> None:
    """Won Salesforce deals go from Value Proposition back to Needs Analysis, then on."""
    loop = ("Value Proposition", "Needs Analysis", "Value Proposition")
    plan.salesforce = _on(plan.salesforce, None,
                          _split("Value Proposition", loop, when=lambda j: j.won))


def _closed_flag_conflict(plan: Plan) -> None:
    """The map sends "Closed Won" to decision (see mapping_toml); no data changes."""


def _cross_crm_mismatch(plan: Plan) -> None:
    """Salesforce's decision stages say (and win) 100%, HubSpot's about 66%: built from
    SF_DECIDED in build(); nothing to change here."""


def _max_days_vs_p90(plan: Plan) -> None:
    """Deals stay four times as long in the decision stages, in both CRMs."""
    def slower(j: Journey) -> Journey:
        last = len(j.legs) - 1
        return replace(j, legs=tuple((s, d * 4 if s in DECISION_STAGES and i < last else d)
                                     for i, (s, d) in enumerate(j.legs)))
    plan.salesforce = [slower(j) for j in plan.salesforce]
    plan.hubspot = [slower(j) for j in plan.hubspot]


SWITCHES: dict[str, Callable[[Plan], None]] = {
    "unmapped_stage": _unmapped_stage, "missing_stage": _missing_stage,
    "probability_order": _probability_order, "probability_calibration": _probability_calibration,
    "stage_unused": _stage_unused, "stage_skipped": _stage_skipped,
    "backward_moves": _backward_moves, "closed_flag_conflict": _closed_flag_conflict,
    "cross_crm_mismatch": _cross_crm_mismatch, "max_days_vs_p90": _max_days_vs_p90,
}


def apply_catalogs(sf_stages: dict[str, dict[str, Any]], plan: Plan) -> None:
    """Apply the plan's OpportunityStage overrides to the generated catalog rows."""
    for row in sf_stages.values():
        row.update(plan.sf_stages.get(row["ApiName"], {}))
