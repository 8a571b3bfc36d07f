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
