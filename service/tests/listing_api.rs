//! The Deal Brain API listing source against a real HTTP server on 127.0.0.1:0.

use std::time::Duration;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use card_service::{ApiListings, ListingError, Metric};
use serde_json::{Value, json};

fn listing(id: &str, price: f64, mark: u32) -> Value {
    json!({"id": id, "title": format!("Listing {id}"), "price_usd": price, "cpu_name": "Intel Core i5-12400", "cpu_mark": mark})
}

async fn serve() -> String {
    let app = Router::new()
        .route(
            "/v1/listings/{id}",
            get(|Path(id): Path<String>| async move {
                match id.as_str() {
                    "dl-1" => Ok(Json(listing("dl-1", 200.0, 20_000))),
                    "dl-wrong" => Ok(Json(listing("dl-other", 1.0, 1))),
                    "dl-broken" => Err(StatusCode::INTERNAL_SERVER_ERROR),
                    "dl-slow" => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        Ok(Json(listing("dl-slow", 1.0, 1)))
                    }
                    _ => Err(StatusCode::NOT_FOUND),
                }
            }),
        )
        .route(
            "/v1/listings",
            get(
                |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    assert_eq!(
                        q.get("sort").map(String::as_str),
                        Some("-cpu_mark_per_dollar")
                    );
                    let limit: usize = q.get("limit").and_then(|l| l.parse().ok()).unwrap_or(10);
                    let all = [
                        listing("dl-a", 100.0, 9_000),
                        listing("dl-b", 200.0, 12_000),
                        listing("bad id", 1.0, 1),
                    ];
                    Json(json!({"listings": all.into_iter().take(limit).collect::<Vec<_>>()}))
                },
            ),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_api_source_fetches_listings_and_reports_failures() {
    let base = serve().await;
    let api = ApiListings::new(&base, Duration::from_millis(500)).unwrap();

    let found = api.get("dl-1").await.unwrap().expect("dl-1 exists");
    assert_eq!(found.cpu_mark_per_dollar(), Some(100.0));
    assert!(api.get("dl-missing").await.unwrap().is_none());
    assert!(matches!(
        api.get("dl-wrong").await,
        Err(ListingError::Invalid(_))
    ));
    assert!(matches!(
        api.get("dl-broken").await,
        Err(ListingError::Unavailable(_))
    ));
    // Bounded by LISTINGS__TIMEOUT_MS, not by the slow server.
    assert!(matches!(
        api.get("dl-slow").await,
        Err(ListingError::Unavailable(_))
    ));

    let top = api.top(Metric::CpuMarkPerDollar, 3).await.unwrap();
    let ids: Vec<&str> = top.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["dl-a", "dl-b"], "invalid ids are dropped");
}

#[tokio::test]
async fn an_unreachable_api_is_unavailable_not_a_panic() {
    let api = ApiListings::new("http://127.0.0.1:9", Duration::from_millis(300)).unwrap();
    assert!(matches!(
        api.get("dl-1").await,
        Err(ListingError::Unavailable(_))
    ));
}
