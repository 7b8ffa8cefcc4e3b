"""Predictive lead and opportunity scoring: CRM import, features, explainable models, registry and scores.

Layers inside the package (see ``docs/scoring.md``):

* pure domain: :mod:`.mapping` (mapping files), :mod:`.parsing` (file rows → typed records and problems),
  :mod:`.features` (records → numeric matrix), :mod:`.estimators` (scikit-learn estimators with exact
  additive explanations), :mod:`.metrics`, :mod:`.training`, :mod:`.explain`, :mod:`.policy`;
* store access: :mod:`.importer`, :mod:`.dataset`, :mod:`.registry`, :mod:`.scores`, :mod:`.providers`;
* presentation: :mod:`.charts`, :mod:`.cli`.
"""
