def test_api_root_lists_the_endpoints(client):
    body = client.get("/api/v1/").json()
    assert body["endpoints"]["checkout_sessions"].endswith("/api/v1/checkout-sessions")
    assert body["endpoints"]["webhook_endpoints"].endswith("/api/v1/webhook-endpoints")


def test_api_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn." not in page and "unpkg" not in page
    asset = next(part.split('"')[0] for part in page.split('src="')[1:] if "swagger-ui" in part)
    assert client.get(asset).status_code == 200
