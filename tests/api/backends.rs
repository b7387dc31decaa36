//! TEMPORARY local stand-in until the services branch lands.
use rand::Rng;

pub fn require_services() -> bool {
    if std::env::var("I2V_TEST_POSTGRES_URL").is_ok() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "PostgreSQL test server missing: run scripts/test"
    );
    eprintln!("skipped: I2V_TEST_POSTGRES_URL is not set (scripts/test starts the servers)");
    false
}

pub async fn fresh_postgres_database() -> String {
    let admin = std::env::var("I2V_TEST_POSTGRES_URL").expect("I2V_TEST_POSTGRES_URL");
    let name = format!("i2v_test_{:016x}", rand::rng().random::<u64>());
    let pool = sqlx::PgPool::connect(&admin).await.expect("admin connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}
