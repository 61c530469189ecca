"""HubSpot deal pipelines (``GET /crm/v3/pipelines/deals``) → CatalogStage, and a lookup of
stage id → stage for the deal mapper.

A pipeline stage carries ``metadata.isClosed`` ("true"/"false") and ``metadata.probability``
(a 0-1 fraction as a string). HubSpot has no "won" flag: a closed stage whose probability is
1.0 is the won stage (Closed Won), a closed stage with any other probability is lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from funnelsync.errors import DataError
from funnelsync.mapping.parse import (
    RecordReader,
    parse_bool,
    parse_fraction_percent,
    require_id,
    require_record,
)
from funnelsync.mapping.result import build_model
from funnelsync.mapping.schema import CatalogStage

SOURCE = "hubspot"


def map_pipelines(raw_pipelines: Any) -> list[CatalogStage]:
    """Every stage of every pipeline, in pipeline order then stage ``displayOrder``.

    Accepts the ``results`` list or the whole response page ``{"results": [...]}``."""
    pipelines = _results(raw_pipelines)
    stages: list[CatalogStage] = []
    for raw in pipelines:
        stages += _pipeline_stages(raw)
    return stages


def _results(raw: Any) -> list[Any]:
    if isinstance(raw, Mapping):
        raw = raw.get("results")
    if not isinstance(raw, list):
        raise DataError(f"{SOURCE} pipelines: expected a list of pipelines (the 'results' of "
                        "/crm/v3/pipelines/deals)", source=SOURCE, field="results")
    return raw


def _pipeline_stages(raw: Any) -> list[CatalogStage]:
    pipeline = require_record(raw, SOURCE, "pipeline")
    pipeline_id = require_id(pipeline.get("id"), SOURCE, "pipeline", "id")
    stages = pipeline.get("stages")
    if not isinstance(stages, list):
        raise DataError(f"{SOURCE} pipeline {pipeline_id}: field stages must be a list",
                        source=SOURCE, record_id=pipeline_id, field="stages")
    archived = pipeline.get("archived") is True
    return [_stage(pipeline_id, raw_stage, archived) for raw_stage in stages]


def _stage(pipeline_id: str, raw: Any, pipeline_archived: bool) -> CatalogStage:
    stage = require_record(raw, SOURCE, "pipeline stage")
    stage_id = require_id(stage.get("id"), SOURCE, "pipeline stage", "id")
    r = RecordReader(SOURCE, "pipeline stage", stage_id, stage)
    meta = stage.get("metadata") if isinstance(stage.get("metadata"), Mapping) else {}
    probability = r.parsed("metadata.probability", parse_fraction_percent,
                           meta.get("probability"))
    closed = bool(r.parsed("metadata.isClosed", parse_bool, meta.get("isClosed")))
    values = {
        "source": SOURCE, "pipeline": pipeline_id, "stage": stage_id,
        "label": r.text("label") or stage_id, "order": r.integer("displayOrder") or 0,
        "probability": probability, "is_closed": closed,
        "is_won": closed and probability == 100.0,
        "active": not (pipeline_archived or stage.get("archived") is True), "kind": "deal",
    }
    return build_model(CatalogStage, values, source=SOURCE, kind="pipeline stage",
                       record_id=stage_id)


class HubSpotCatalog(dict[tuple[str, str], CatalogStage]):
    """The deal pipelines as a dict ``(pipeline id, stage id) → CatalogStage``.

    Build it once per run from the raw pipelines response and pass it to ``map_deal``::

        catalog = HubSpotCatalog.from_pipelines(api_json["results"])
        result = map_deal(raw_deal, maps, catalog)
    """

    @classmethod
    def from_pipelines(cls, raw_pipelines: Any) -> HubSpotCatalog:
        """From the ``results`` of ``/crm/v3/pipelines/deals`` (or the whole page)."""
        return cls.from_stages(map_pipelines(raw_pipelines))

    @classmethod
    def from_stages(cls, stages: Iterable[CatalogStage]) -> HubSpotCatalog:
        return cls({(s.pipeline or "default", s.stage): s for s in stages})

    def stage(self, pipeline: str | None, stage_id: str | None) -> CatalogStage | None:
        """The stage in that pipeline; without a pipeline, the stage with that id anywhere
        (HubSpot stage ids are unique across a portal's deal pipelines)."""
        if stage_id is None:
            return None
        if pipeline is not None:
            return self.get((pipeline, stage_id))
        return next((s for (_, sid), s in self.items() if sid == stage_id), None)

    def stage_ids(self) -> list[str]:
        """Every stage id, in catalog order, without duplicates."""
        return list(dict.fromkeys(sid for _, sid in self))


__all__ = ["HubSpotCatalog", "map_pipelines"]
