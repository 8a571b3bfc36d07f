# The Function App's settings, merged in this order (later wins):
#
# 1. local.platform_settings: what the Functions host and the Azure SDKs read (allow-listed in tests/infra).
# 2. local.simulator_settings: every setting of simulator.settings.Settings, by environment variable name:
#    local.simulator_defaults, then var.simulator_settings (operator overrides), then local.simulator_wired
#    (values Terraform owns: mode, key, storage). tests/infra/test_terraform_settings.py fails when these maps
#    name a setting the simulator does not read, or miss one it does: a new Settings field gets a line here.
# 3. var.extra_app_settings: an escape hatch for anything Terraform does not model yet.
#
# An empty value counts as unset for the simulator (Settings.from_env), so optional settings are always
# present and visible in the portal, ready to be changed with `az functionapp config appsettings set`.

locals {
  platform_settings = {
    # Host storage through the user-assigned identity. The provider writes a key-based AzureWebJobsStorage
    # (with an empty key) even for identity auth (hashicorp/terraform-provider-azurerm#29149, #29693); the
    # empty value overrides it so the host uses the identity-based AzureWebJobsStorage__* settings below.
    AzureWebJobsStorage              = ""
    AzureWebJobsStorage__accountName = azurerm_storage_account.this.name
    AzureWebJobsStorage__credential  = "managedidentity"
    AzureWebJobsStorage__clientId    = azurerm_user_assigned_identity.this.client_id
    # Application Insights ingestion with Entra ID (local auth is disabled on the resource).
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING = "ClientId=${azurerm_user_assigned_identity.this.client_id};Authorization=AAD"
    # HTTP streaming (azurefunctions-extensions-http-fastapi) needs init indexing on Python <= 3.12.
    PYTHON_ENABLE_INIT_INDEXING = "1"
    # DefaultAzureCredential in the simulator (Blob, Table, Azure OpenAI) picks the user-assigned identity.
    AZURE_CLIENT_ID = azurerm_user_assigned_identity.this.client_id
  }

  # Every simulator setting at its default, equal to simulator/settings.py (the test compares them).
  # Override through var.simulator_settings rather than by editing here.
  simulator_defaults = {
    OPENAI_DEPLOYMENT_CONFIG_PATH      = ""
    ALLOW_UNDEFINED_OPENAI_DEPLOYMENTS = "true"
    SIMULATOR_DEFAULT_CHAT_MODEL       = "gpt-4o"
    SIMULATOR_DEFAULT_EMBEDDING_MODEL  = "text-embedding-ada-002"
    SIMULATOR_COMPLETION_TOKENS        = "100-300"
    SIMULATOR_SEED                     = "0"
    SIMULATOR_MAX_BODY_BYTES           = "4194304"
    RECORDING_DIR                      = "recordings"
    RECORDING_AUTOSAVE                 = "true"
    EXTENSION_PATH                     = ""
    LOG_LEVEL                          = "INFO"

    # Resource limits of a shared endpoint (docs/security.md).
    SIMULATOR_MAX_CHOICES               = "128"
    SIMULATOR_MAX_MESSAGES              = "2048"
    SIMULATOR_MAX_TOOLS                 = "128"
    SIMULATOR_MAX_INPUTS                = "2048"
    SIMULATOR_MAX_JSON_DEPTH            = "64"
    SIMULATOR_MAX_GENERATED_TOKENS      = "262144"
    SIMULATOR_MAX_CONCURRENT_STREAMS    = "10000"
    SIMULATOR_BODY_TIMEOUT_SECONDS      = "30.0"
    SIMULATOR_HEADER_TIMEOUT_SECONDS    = "10.0"
    SIMULATOR_MAX_HEADER_BYTES          = "65536"
    SIMULATOR_KEEPALIVE_TIMEOUT_SECONDS = "5.0"
    SIMULATOR_CORS_ORIGINS              = ""

    SIMULATOR_TOOL_CALL_PROBABILITY            = "0.5"
    SIMULATOR_TOOL_CALL_PROBABILITY_AFTER_TOOL = "0.1"
    SIMULATOR_PARALLEL_TOOL_CALL_PROBABILITY   = "0.25"

    SIMULATOR_LATENCY_ENABLED               = "true"
    SIMULATOR_LATENCY_CONFIG                = ""
    LATENCY_OPENAI_CHAT_COMPLETIONS_MEAN    = ""
    LATENCY_OPENAI_CHAT_COMPLETIONS_STD_DEV = ""
    LATENCY_OPENAI_COMPLETIONS_MEAN         = ""
    LATENCY_OPENAI_COMPLETIONS_STD_DEV      = ""
    LATENCY_OPENAI_EMBEDDINGS_MEAN          = ""
    LATENCY_OPENAI_EMBEDDINGS_STD_DEV       = ""
    LATENCY_OPENAI_TRANSLATIONS_MEAN        = ""
    LATENCY_OPENAI_TRANSLATIONS_STD_DEV     = ""

    SIMULATOR_FAULTS       = ""
    SIMULATOR_FAULT_HEADER = "true"

    RUNTIME_CONFIG_POLL_SECONDS = "1.5"

    RATE_LIMIT_LEASE_FRACTION        = ""
    RATE_LIMIT_LEASE_SECONDS         = "1.0"
    RATE_LIMIT_FAILURE_MODE          = "open"
    RATE_LIMIT_STORE_TIMEOUT_SECONDS = "5.0"
    RATE_LIMIT_RETRY_SECONDS         = "2.0"
    SIMULATOR_REGION                 = "East US"

    RECORDING_STORE                    = "auto"
    RECORDING_BLOB_PREFIX              = ""
    RECORDING_DEPLOYMENT_MAP           = ""
    RECORDING_MATCH_ON                 = "method,path,body"
    RECORDING_IGNORED_FIELDS           = "user,seed"
    RECORDING_UNMATCHED                = "error"
    RECORDING_TIMING_SCALE             = "1.0"
    RECORDING_BODY_HASH_THRESHOLD      = "65536"
    RECORDING_RECORD_FAILURES          = "false"
    RECORDING_REFRESH_SECONDS          = "5.0"
    RECORDING_UPSTREAM_TIMEOUT_SECONDS = "120.0"

    RESPONSES_STORE             = "auto"
    RESPONSES_RETENTION_SECONDS = "2592000.0"
    RESPONSES_MEMORY_LIMIT      = "10000"

    # Telemetry (docs/observability.md). Application Insights is wired through site_config.
    OTEL_EXPORTER_OTLP_ENDPOINT     = ""
    SIMULATOR_TRACES_PER_SECOND     = "10.0"
    SIMULATOR_METRICS_PROMETHEUS    = "false"
    LOG_FORMAT                      = "text"
    SIMULATOR_REQUEST_LOG_LEVEL     = "DEBUG"
    SIMULATOR_REQUEST_LOG_PROMPTS   = "false"
    SIMULATOR_STATS_PUBLISH_SECONDS = "5.0"
    SIMULATOR_IMAGE_URL_TTL_SECONDS = "86400.0"
    SIMULATOR_PUBLIC_URL            = ""
  }

  # Simulator settings wired to variables and to the resources above; var.simulator_settings cannot
  # override these (see its validation). A new storage setting (a table name, ...) belongs here.
  simulator_wired = {
    SIMULATOR_MODE            = var.simulator_mode
    SIMULATOR_API_KEY         = random_password.api_key.result
    SIMULATOR_ADMIN_KEY       = var.simulator_admin_key
    AZURE_OPENAI_ENDPOINT     = var.azure_openai_endpoint
    AZURE_OPENAI_KEY          = var.azure_openai_key
    AZURE_STORAGE_ACCOUNT_URL = azurerm_storage_account.this.primary_blob_endpoint
    AZURE_STORAGE_TABLE_URL   = azurerm_storage_account.this.primary_table_endpoint
    RECORDING_CONTAINER       = azurerm_storage_container.recordings.name
    RESPONSES_CONTAINER       = azurerm_storage_container.responses.name
    SIMULATOR_IMAGE_CONTAINER = azurerm_storage_container.images.name
    RUNTIME_CONFIG_TABLE      = azurerm_storage_table.this["runtime_config"].name
    RATE_LIMIT_TABLE          = azurerm_storage_table.this["rate_limits"].name
    STATS_TABLE               = azurerm_storage_table.this["stats"].name
  }

  simulator_settings = merge(local.simulator_defaults, var.simulator_settings, local.simulator_wired)

  app_settings = merge(local.platform_settings, local.simulator_settings, var.extra_app_settings)
}

resource "random_password" "api_key" {
  # The key clients send as `api-key`. It lives in the Terraform state and in the app settings, and is printed
  # only on request (`terraform output -raw simulator_api_key`). Rotate: terraform apply -replace=random_password.api_key
  length  = 48
  special = false
}
