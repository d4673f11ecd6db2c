"""The bias report's header; its tables and figures are the audit's (`fairness.tables`)."""

from __future__ import annotations

from maskutils.core.stats import ADJUSTMENTS
from maskutils.stages.bias.run import BiasStudy


def header(s: dict, study: BiasStudy, min_group: int) -> str:
    """Images audited, task, groupings, judging threshold and the mitigation (Markdown)."""
    plan, fam = study.plan, study.family
    text = (
        f"**{s['n']} images** audited · task `{study.task}` · groupings: "
        f"{', '.join(study.results) or 'none'} · groups under {min_group} images are not judged · "
        f"p-values {ADJUSTMENTS[fam['method']]}-adjusted over {fam['size']} gaps · "
        f"mitigation: **{plan['method']}**"
    )
    if plan["method"] != "none":
        text += f" by {' x '.join(plan['by'])} x class · mitigated folds trained now: "
        text += f"{study.trained or 'none (resumed)'}"
    return text
