"""Settings of the scoring service (env prefix CCHC_SCORING_): cchc.runtime.service_settings."""

from cchc.runtime.service_settings import ServiceSettingsBase, settings_config
from cchc.runtime.setting_secrets import ConnectionUrl


class ScoringSettings(ServiceSettingsBase):
    model_config = settings_config("scoring")

    database_url: ConnectionUrl = "sqlite:///scoring.db"
