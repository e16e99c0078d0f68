"""Retraining under RetrainPolicies, one module per verb.

- ``triggers``: when to retrain (`mlform retrain check`): a Monitor's alert, a metric under
  its bound, new data, a cron schedule (``schedule``); then cooldown and maximum frequency.
  Monitor results count only when they scored the version served now, so a retrained model
  is not retrained again for its predecessor's drift.
- ``feedback``: labelled production predictions appended to the Dataset's source, each row
  once (and each distinct row once), with the rows that lack a required value reported;
  ``feedback_log``: `mlform feedback list|drop`, the records and their removal.
- ``challenger``: the retrained model against the served one (the champion) on a common
  holdout, both through onnxruntime as they are served.
- ``promotion``: commit and apply through the reconciler (``auto``), or commit on a new
  branch for review (``propose``).
- ``run``: one retrain under the environment's lock, in a scratch git worktree
  (``scratch``): feedback, `dvc repro` of the review (every gate) and the profile, the
  comparison, then promotion (carried back into the workspace, ``backup`` until committed),
  a proposal (committed from the scratch), or a rejection (the scratch removed).
- ``fingerprint``: the sha256 of a retrain's inputs; a rejected set is not tried again.
- ``ledger``: ``.mlform/retrain/<policy>/``: decisions.jsonl, runs.jsonl, appended.json.
"""
