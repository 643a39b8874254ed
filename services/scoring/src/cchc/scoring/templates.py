"""The framework files a province starts from (``frameworks/*.json``), checked on load.

Each file is a ``POST /index-frameworks`` body marked ``"template": true`` with a note saying
which numbers to adjust to the province's own decision. A file that the API would refuse fails
to load, with the same fields named.
"""

import json
from pathlib import Path

from cchc.contracts.scoring_commands import DefineFramework
from cchc.scoring.domain.frameworks import framework_problems
from pydantic import ValidationError

FRAMEWORK_DIR = Path(__file__).parent / "frameworks"


class TemplateError(ValueError):
    pass


def load_template(path: Path) -> DefineFramework:
    try:
        framework = DefineFramework.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as error:  # JSONDecodeError is a ValueError
        raise TemplateError(f"{path.name}: {error}") from error
    if problems := framework_problems(framework):
        listed = "; ".join(f"{field}: {message}" for field, message in problems)
        raise TemplateError(f"{path.name}: {listed}")
    return framework


def framework_templates(directory: Path = FRAMEWORK_DIR) -> list[DefineFramework]:
    return [load_template(path) for path in sorted(directory.glob("*.json"))]
