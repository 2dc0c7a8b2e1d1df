// Turns the services' problem+json answers into sentences a person understands. Never shows raw JSON.

export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  errors?: unknown;
}

const MESSAGES_NOT_FOUND = "We could not find that. It may not exist, or it may belong to another account.";

// By machine-readable `code`: what happened, and what the person can do about it.
const MESSAGES: Record<string, string> = {
  not_signed_in: "Your session has ended. Please sign in again.",
  invalid_token: "Your session has ended. Please sign in again.",
  missing_token: "Your session has ended. Please sign in again.",
  role_required: "Your role does not allow this action.",
  forbidden: "You are not allowed to do this.",
  mail_sink_not_configured: "This installation sends its e-mail to a real mail server, so there is no mail to show here.",
  not_found: MESSAGES_NOT_FOUND,
  not_yet_known: "This was only just created and is still being set up. Please try again in a few seconds.",
  validation_failed: "Some of the values entered are not valid. Please check them and try again.",
  payload_too_large: "That is more data than we accept in one go.",
  rate_limited: "Too many attempts. Please wait a moment before trying again.",
  key_invalid: "That activation key is not valid. Check the code and try again.",
  invalid_key: "That activation key is not valid. Check the code and try again.",
  key_already_redeemed: "That activation key has already been used.",
  key_redeemed: "That activation key has already been used.",
  key_revoked: "That activation key has been withdrawn by the seller.",
  insufficient_balance: "Your balance is empty. Load credits with an activation key first.",
  balance_depleted: "Your balance is empty. Load credits with an activation key first.",
  contract_not_active: "The rental contract is not active yet, so devices cannot be rented.",
  not_rentable: "This device cannot be rented: there is no tariff for its model.",
  already_rented: "This device is already rented.",
  code_mistyped: "That activation key has a typo. Check each character and try again.",
  code_malformed: "That does not look like an activation key. Check the code and try again.",
  codes_already_shown: "These codes were already shown once and cannot be shown again.",
  no_credit: "Your balance is empty. Load credits with an activation key first.",
  product_not_rentable: "This device cannot be rented: there is no tariff for its model yet.",
  device_already_rented: "This device is already rented.",
  device_removed: "This device was removed from the domain.",
  rental_not_active: "This rental has already ended.",
  replacement_is_same_device: "Choose a different device as the replacement.",
  domain_already_linked: "This domain is already linked to the contract.",
  domain_linked_elsewhere: "This domain is linked to another contract.",
  domain_of_another_account: "This domain belongs to another account.",
  domain_has_active_rentals: "Devices of this domain are still rented. Deactivate them first.",
  domain_name_taken: "A domain with this name already exists.",
  contract_already_terminated: "This contract has been terminated.",
  gateway_hwid_taken: "A gateway with this hardware id is already registered.",
  invalid_cursor: "The list changed while you were reading it. Please reload.",
  idempotency_key_reused: "This request was already sent with different details. Please start again.",
  service_unavailable: "A part of the platform cannot be reached right now. Please try again in a moment.",
  identity_provider_unavailable: "Sign-in is unavailable right now. Please try again in a moment.",
  foreign_origin: "This request was refused for your security. Reload the page and try again.",
  internal_error: "Something went wrong on our side. Please try again; if it keeps happening, contact support.",
};

export function friendlyMessage(problem: Problem): string {
  if (problem.code && MESSAGES[problem.code]) {
    return MESSAGES[problem.code];
  }
  // A problem we have no sentence for: the service's own `detail` is written for people, so show it.
  if (problem.detail && problem.status < 500) {
    const detail = problem.detail.trim();
    return detail.charAt(0).toUpperCase() + detail.slice(1) + (detail.endsWith(".") ? "" : ".");
  }
  if (problem.status === 404) return MESSAGES.not_found;
  if (problem.status === 401) return MESSAGES.not_signed_in;
  if (problem.status === 403) return MESSAGES.forbidden;
  if (problem.status === 405) return "This feature is not available yet.";
  if (problem.status >= 500) return MESSAGES.internal_error;
  return "The request could not be completed. Please check what you entered and try again.";
}

export function loginErrorMessage(code: string): string {
  if (code === "access_denied") return "Sign-in was cancelled.";
  return "Sign-in did not complete. Please try again.";
}
