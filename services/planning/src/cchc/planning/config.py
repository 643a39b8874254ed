"""Settings of the planning service (env prefix CCHC_PLANNING_): cchc.runtime.service_settings."""

from cchc.runtime.service_settings import ServiceSettingsBase, settings_config
from cchc.runtime.setting_secrets import ConnectionUrl


class PlanningSettings(ServiceSettingsBase):
    model_config = settings_config("planning")

    database_url: ConnectionUrl = "sqlite:///planning.db"
