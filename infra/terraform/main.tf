# Naming and the resource group. Everything else lives in the file named after its concern:
# storage.tf, monitoring.tf, identity.tf, function_app.tf, app_settings.tf, outputs.tf.

resource "random_string" "suffix" {
  # Storage account and Function App names are global; a stable random suffix keeps them unique per deployment.
  length  = 6
  lower   = true
  upper   = false
  numeric = true
  special = false
}

resource "azurerm_resource_group" "this" {
  count = var.create_resource_group ? 1 : 0

  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

data "azurerm_resource_group" "existing" {
  count = var.create_resource_group ? 0 : 1

  name = var.resource_group_name
}

locals {
  resource_group_name = var.create_resource_group ? azurerm_resource_group.this[0].name : data.azurerm_resource_group.existing[0].name
  location            = var.create_resource_group ? azurerm_resource_group.this[0].location : coalesce(var.location, data.azurerm_resource_group.existing[0].location)

  base_name            = "${var.name}-${random_string.suffix.result}"
  function_app_name    = coalesce(var.function_app_name, "func-${local.base_name}")
  storage_account_name = coalesce(var.storage_account_name, substr("st${replace(var.name, "-", "")}${random_string.suffix.result}", 0, 24))
}
