"""Retraining under RetrainPolicies, one module per verb.

- ``triggers``: when to retrain (`mlform retrain check`): a Monitor's alert, a metric under
  its bound, new data, a cron schedule (``schedule``); then cooldown and maximum frequency.
  Monitor results count only when they scored the version served now, so a retrained model
  is not retrained again for its predecessor's drift.
- ``feedback``: labelled production predictions appended to the Dataset's source, each row
  once, with the rows that lack a required value reported.
- ``challenger``: the retrained model against the served one (the champion) on a common
  holdout, both through onnxruntime as they are served.
- ``promotion``: commit and apply through the reconciler (``auto``), or commit on a new
  branch for review (``propose``).
- ``run``: one retrain under the environment's lock: feedback, `dvc repro` of the review
  (every gate) and the profile, the comparison, then promotion, or a rejection that
  restores the data and ``dvc.lock`` byte for byte (``backup``).
- ``ledger``: ``.mlform/retrain/<policy>/``: decisions.jsonl, runs.jsonl, appended.json.
"""
