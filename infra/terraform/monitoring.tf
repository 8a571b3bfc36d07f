resource "azurerm_log_analytics_workspace" "this" {
  name                = "log-${local.base_name}"
  resource_group_name = local.resource_group_name
  location            = local.location
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_in_days
  tags                = var.tags
}

resource "azurerm_application_insights" "this" {
  name                = "appi-${local.base_name}"
  resource_group_name = local.resource_group_name
  location            = local.location
  workspace_id        = azurerm_log_analytics_workspace.this.id
  application_type    = "web"

  # Entra-only ingestion: telemetry needs the identity's Monitoring Metrics Publisher role, not just the
  # connection string (APPLICATIONINSIGHTS_AUTHENTICATION_STRING in app_settings.tf).
  local_authentication_disabled = true

  tags = var.tags
}

# The dashboard's charts as an Azure Monitor workbook on the Application Insights resource: requests and tokens
# per deployment, 429s by reason, latency percentiles from the request traces, time to first token, and a
# request found by its apim-request-id. The queries are docs/observability.md's (tests/infra checks it).
resource "azurerm_application_insights_workbook" "simulator" {
  name                = uuidv5("url", "https://aoai-simulator/workbook/${local.base_name}") # a workbook's name is a UUID
  resource_group_name = local.resource_group_name
  location            = local.location
  display_name        = "aoai-simulator ${local.base_name}"
  source_id           = lower(azurerm_application_insights.this.id)
  category            = "workbook"
  data_json = jsonencode(merge(jsondecode(file("${path.module}/workbook.json")), {
    fallbackResourceIds = [azurerm_application_insights.this.id]
  }))
  tags = var.tags
}
