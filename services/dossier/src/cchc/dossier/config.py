"""Settings of the dossier service (env prefix CCHC_DOSSIER_): cchc.runtime.service_settings."""

from cchc.runtime.service_settings import ServiceSettingsBase, settings_config
from cchc.runtime.setting_secrets import ConnectionUrl


class DossierSettings(ServiceSettingsBase):
    model_config = settings_config("dossier")

    database_url: ConnectionUrl = "sqlite:///dossier.db"
