"""The web app's backend-for-frontend: OpenID Connect login, server-side sessions, the API proxy, the SPA."""
