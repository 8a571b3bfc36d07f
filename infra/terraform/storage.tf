# One storage account, reached only with Entra ID (shared keys disabled):
# - the Flex Consumption deployment package container,
# - the Functions host's own storage (AzureWebJobsStorage: host locks and keys),
# - the simulator's recordings container, its stored-responses container and its tables (shared rate-limit
#   state, runtime config).

resource "azurerm_storage_account" "this" {
  name                = local.storage_account_name
  resource_group_name = local.resource_group_name
  location            = local.location

  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.storage_replication_type

  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"

  tags = var.tags
}

resource "azurerm_storage_container" "package" {
  name                  = var.package_container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "recordings" {
  name                  = var.recordings_container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "responses" {
  name                  = var.responses_container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

resource "azurerm_storage_container" "images" {
  name                  = var.images_container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

# Image URLs expire in the simulator (SIMULATOR_IMAGE_URL_TTL_SECONDS); an expired blob is deleted when it is next
# asked for, and this rule deletes the ones nobody asks for again.
resource "azurerm_storage_management_policy" "images" {
  storage_account_id = azurerm_storage_account.this.id

  rule {
    name    = "expire-image-urls"
    enabled = true
    filters {
      prefix_match = ["${azurerm_storage_container.images.name}/"]
      blob_types   = ["blockBlob"]
    }
    actions {
      base_blob {
        delete_after_days_since_modification_greater_than = var.images_retention_days
      }
    }
  }
}

resource "azurerm_storage_table" "this" {
  for_each = var.table_names

  name               = each.value
  storage_account_id = azurerm_storage_account.this.id
}
