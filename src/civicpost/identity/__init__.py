"""Who a person is: single sign-on (OIDC, SAML), second factors, and what each way of signing in may do."""
