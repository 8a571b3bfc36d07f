resource "azurerm_service_plan" "this" {
  name                = "plan-${local.base_name}"
  resource_group_name = local.resource_group_name
  location            = local.location
  os_type             = "Linux"
  sku_name            = "FC1" # Flex Consumption
  tags                = var.tags
}

resource "azurerm_function_app_flex_consumption" "this" {
  name                = local.function_app_name
  resource_group_name = local.resource_group_name
  location            = local.location
  service_plan_id     = azurerm_service_plan.this.id

  runtime_name    = "python"
  runtime_version = var.python_version

  # The deployment package is read by the platform with the user-assigned identity, never with a key.
  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.this.primary_blob_endpoint}${azurerm_storage_container.package.name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.this.id

  instance_memory_in_mb  = var.instance_memory_in_mb
  maximum_instance_count = var.maximum_instance_count
  http_concurrency       = var.http_concurrency

  dynamic "always_ready" {
    for_each = var.always_ready_instances > 0 ? [1] : []
    content {
      name           = "http" # the group every HTTP-triggered function scales in
      instance_count = var.always_ready_instances
    }
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.this.id]
  }

  https_only = true
  # Publishing goes through Entra ID (az / func with `az login`), so basic-auth publishing credentials stay off.
  webdeploy_publish_basic_authentication_enabled = false

  site_config {
    # The provider stores APPLICATIONINSIGHTS_CONNECTION_STRING from this argument (in app_settings it would
    # show a perpetual diff). The connection string names the resource; it is not a credential here because
    # local authentication is disabled.
    application_insights_connection_string = azurerm_application_insights.this.connection_string
    minimum_tls_version                    = "1.2"
  }

  app_settings = local.app_settings

  tags = var.tags

  # The host must be able to read its package and storage on the first cold start.
  depends_on = [azurerm_role_assignment.app]
}
