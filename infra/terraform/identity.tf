# One user-assigned identity for everything the app reaches: the Flex deployment package, the Functions host
# storage, the simulator's blobs and tables, Application Insights ingestion and, in record mode, Azure OpenAI.
# A user-assigned identity exists before the app, so its role assignments are in place on the first cold start.

resource "azurerm_user_assigned_identity" "this" {
  name                = "id-${local.base_name}"
  resource_group_name = local.resource_group_name
  location            = local.location
  tags                = var.tags
}

locals {
  # Scope each role as narrowly as the consumer allows.
  role_assignments = merge(
    {
      # The Functions host creates and leases blobs in its own containers (azure-webjobs-hosts, -secrets) and the
      # Flex platform reads the package container: that needs Blob Data Owner on the account. It also covers the
      # simulator's recordings container; a narrower Blob Data Contributor grant there would add nothing.
      blob_owner = {
        scope = azurerm_storage_account.this.id
        role  = "Storage Blob Data Owner"
      }
      # Simulator tables (rate limits, runtime config) plus the host's diagnostic-event tables, which it creates.
      table_contributor = {
        scope = azurerm_storage_account.this.id
        role  = "Storage Table Data Contributor"
      }
      # Application Insights with local auth disabled accepts telemetry only from this role.
      metrics_publisher = {
        scope = azurerm_application_insights.this.id
        role  = "Monitoring Metrics Publisher"
      }
    },
    # Record mode with Entra ID (no AZURE_OPENAI_KEY): let the identity call the real Azure OpenAI resource.
    var.azure_openai_resource_id == null ? {} : {
      openai_user = {
        scope = var.azure_openai_resource_id
        role  = "Cognitive Services OpenAI User"
      }
    },
  )
}

resource "azurerm_role_assignment" "app" {
  for_each = local.role_assignments

  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = azurerm_user_assigned_identity.this.principal_id
  principal_type       = "ServicePrincipal"
}
