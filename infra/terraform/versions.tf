terraform {
  # 1.9 lets a variable's validation refer to other variables (simulator_mode needs azure_openai_endpoint).
  required_version = ">= 1.9"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.46 added `http_concurrency` to azurerm_function_app_flex_consumption.
      version = ">= 4.46, < 5.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "azurerm" {
  features {}

  # The storage account has shared keys disabled, so every data-plane call the provider makes must use Entra ID.
  storage_use_azuread = true
  subscription_id     = var.subscription_id
}
