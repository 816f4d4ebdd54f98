//! The store on both back-ends: every test here runs on SQLite and on PostgreSQL
//! (127.0.0.1:5432), through the same code path.

use crate::support;

use lwams_server::store::{companies, groups, now_millis, sessions, users, Store};
use shared::dto::ListQuery;
use shared::{Function, Level, Locale, PermissionMatrix};
use support::both_backends;

fn fields(name: &str) -> users::UserFields<'_> {
    users::UserFields {
        display_name: name,
        email: "",
        phone: "",
        mobile: "",
        enabled: true,
        may_login_agent: false,
    }
}

#[tokio::test]
async fn migrations_apply_twice_and_users_round_trip() {
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        drop(store);
        let store = Store::open(&db.url)
            .await
            .expect("re-opening applies no migration twice");
        let mut c = store.conn().await.unwrap();
        let co = companies::insert(&mut c, "c1", "Company 1").await.unwrap();
        let f = users::UserFields {
            display_name: "张三",
            email: "z@example.com",
            phone: "1",
            mobile: "2",
            enabled: true,
            may_login_agent: true,
        };
        let id = users::insert(&mut c, co, "zhang", "hash", Locale::En, &f)
            .await
            .unwrap();
        let u = users::get(&mut c, co, id).await.unwrap().unwrap();
        assert_eq!(u.display_name, "张三");
        assert!(u.enabled && u.may_login_agent);
        assert_eq!(u.locale, Locale::En);
        assert!(
            users::get(&mut c, co + 1, id).await.unwrap().is_none(),
            "scoped by company"
        );
        let dup = users::insert(&mut c, co, "zhang", "hash", Locale::En, &f)
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
    }
}

#[tokio::test]
async fn lists_filter_case_insensitively_escape_wildcards_and_page() {
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut c = store.conn().await.unwrap();
        let co = companies::insert(&mut c, "c", "C").await.unwrap();
        for i in 0..25 {
            users::insert(
                &mut c,
                co,
                &format!("user{i:02}"),
                "h",
                Locale::ZhCn,
                &fields("Ops Person"),
            )
            .await
            .unwrap();
        }
        users::insert(
            &mut c,
            co,
            "percent",
            "h",
            Locale::ZhCn,
            &fields("100% sure"),
        )
        .await
        .unwrap();
        let q = ListQuery {
            q: Some("USER1".into()),
            offset: None,
            limit: None,
        };
        let (rows, total) = users::list(&mut c, co, &q).await.unwrap();
        assert_eq!(total, 10);
        assert_eq!(rows.len(), 10);
        let q = ListQuery {
            q: Some("%".into()),
            ..Default::default()
        };
        assert_eq!(
            users::list(&mut c, co, &q).await.unwrap().1,
            1,
            "% is literal"
        );
        let q = ListQuery {
            q: None,
            offset: Some(20),
            limit: Some(5),
        };
        let (rows, total) = users::list(&mut c, co, &q).await.unwrap();
        assert_eq!(total, 26);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].login, "user19");
    }
}

#[tokio::test]
async fn permissions_are_the_union_of_groups_and_admins_are_counted() {
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let co = companies::insert(&mut tx, "c", "C").await.unwrap();
        let u = users::insert(&mut tx, co, "u", "h", Locale::ZhCn, &fields("U"))
            .await
            .unwrap();
        let g1 = groups::insert(&mut tx, co, "g1", "").await.unwrap();
        let g2 = groups::insert(&mut tx, co, "g2", "").await.unwrap();
        let mut m1 = PermissionMatrix::default();
        m1.set(Function::SystemUsers, Level::View);
        m1.set(Function::FlowEditor, Level::Manage);
        let mut m2 = PermissionMatrix::default();
        m2.set(Function::SystemUsers, Level::Manage);
        groups::set_permissions(&mut tx, g1, &m1).await.unwrap();
        groups::set_permissions(&mut tx, g2, &m2).await.unwrap();
        users::set_groups(&mut tx, u, &[g1]).await.unwrap();
        assert_eq!(users::count_user_admins(&mut tx, co).await.unwrap(), 0);
        groups::add_members(&mut tx, g2, &[u, u]).await.unwrap();
        let p = groups::user_permissions(&mut tx, u).await.unwrap();
        assert_eq!(p.get(Function::SystemUsers), Level::Manage);
        assert_eq!(p.get(Function::FlowEditor), Level::Manage);
        assert_eq!(users::count_user_admins(&mut tx, co).await.unwrap(), 1);
        tx.commit().await.unwrap();
        // Deleting a group removes its memberships and rights.
        let mut c = store.conn().await.unwrap();
        assert!(groups::delete(&mut c, co, g2).await.unwrap());
        assert_eq!(
            groups::user_permissions(&mut c, u)
                .await
                .unwrap()
                .get(Function::SystemUsers),
            Level::View
        );
        assert_eq!(users::group_ids(&mut c, co).await.unwrap()[&u], vec![g1]);
    }
}

#[tokio::test]
async fn a_rolled_back_transaction_leaves_nothing() {
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut c = store.conn().await.unwrap();
        let co = companies::insert(&mut c, "c", "C").await.unwrap();
        drop(c);
        let mut tx = store.begin().await.unwrap();
        users::insert(&mut tx, co, "ghost", "h", Locale::ZhCn, &fields("G"))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let mut c = store.conn().await.unwrap();
        assert!(users::by_login(&mut c, co, "ghost")
            .await
            .unwrap()
            .is_none());
    }
}

#[tokio::test]
async fn sessions_expire_and_die_with_disabled_users() {
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut c = store.conn().await.unwrap();
        let co = companies::insert(&mut c, "c", "C").await.unwrap();
        let u = users::insert(&mut c, co, "u", "h", Locale::ZhCn, &fields("U"))
            .await
            .unwrap();
        sessions::insert(&mut c, "live", u, co, "csrf", now_millis() + 60_000)
            .await
            .unwrap();
        sessions::insert(&mut c, "old", u, co, "csrf", now_millis() - 1)
            .await
            .unwrap();
        assert!(sessions::get_live(&mut c, "live").await.unwrap().is_some());
        assert!(sessions::get_live(&mut c, "old").await.unwrap().is_none());
        assert_eq!(sessions::purge_expired(&mut c).await.unwrap(), 1);
        let mut f = fields("U");
        f.enabled = false;
        users::update(&mut c, co, u, &f).await.unwrap();
        assert!(sessions::get_live(&mut c, "live").await.unwrap().is_none());
    }
}

/// Migration 0010 on a database that already holds companies: the one with the
/// lowest id becomes the platform operator's, none is disabled, and a second operator
/// is refused by the database.
#[tokio::test]
async fn migration_0010_makes_the_oldest_company_the_platform_operator() {
    use sqlx::{Executor, Row};
    for db in both_backends().await {
        sqlx::any::install_default_drivers();
        let (folder, url) = match db.url.strip_prefix("sqlite:") {
            Some(path) => ("sqlite", format!("sqlite://{path}?mode=rwc")),
            None => ("postgres", db.url.clone()),
        };
        // The schema before 0010, with three companies of which the first is gone.
        let before = tempfile::tempdir().unwrap();
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(folder);
        for e in std::fs::read_dir(&all).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            if name.as_str() < "0010" {
                std::fs::copy(e.path(), before.path().join(&name)).unwrap();
            }
        }
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(before.path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        for code in ["gone", "old", "young"] {
            pool.execute(
                format!(
                    "INSERT INTO companies (code, name, created_at) VALUES ('{code}', '{code}', 1)"
                )
                .as_str(),
            )
            .await
            .unwrap();
        }
        pool.execute("DELETE FROM companies WHERE code = 'gone'")
            .await
            .unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM companies")
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get("n")
            .unwrap();
        assert_eq!(n, 2);
        pool.close().await;

        let store = Store::open(&db.url).await.expect("0010 applies on top");
        let mut c = store.conn().await.unwrap();
        let list = companies::list(&mut c).await.unwrap();
        let seen: Vec<_> = list
            .iter()
            .map(|co| (co.code.as_str(), co.platform_operator, co.disabled))
            .collect();
        assert_eq!(seen, vec![("old", true, false), ("young", false, false)]);
        let second = companies::mark_platform_operator(&mut c, list[1].id)
            .await
            .unwrap_err();
        assert!(second.is_unique_violation(), "{second}");
    }
}

#[tokio::test]
async fn companies_are_created_with_their_admins_group_and_a_disabled_one_is_shut_out() {
    use lwams_server::bootstrap;
    use lwams_server::store::hosts;
    for db in both_backends().await {
        let store = Store::open(&db.url).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let first = bootstrap::create_company(&mut tx, "first", "First")
            .await
            .unwrap();
        let second = bootstrap::create_company(&mut tx, "second", "Second")
            .await
            .unwrap();
        assert!(first.platform_operator && !second.platform_operator);
        let dup = bootstrap::create_company(&mut tx, "second", "Again")
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
        tx.rollback().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let first = bootstrap::create_company(&mut tx, "first", "First")
            .await
            .unwrap();
        let second = bootstrap::create_company(&mut tx, "second", "Second")
            .await
            .unwrap();
        let admin = bootstrap::add_administrator(
            &mut tx,
            second.id,
            second.admin_group,
            "boss",
            "Boss",
            "h",
        )
        .await
        .unwrap();
        assert_eq!(
            bootstrap::admin_group(&mut tx, second.id).await.unwrap(),
            second.admin_group,
            "found, not made again"
        );
        tx.commit().await.unwrap();
        let mut c = store.conn().await.unwrap();
        assert_eq!(
            groups::user_permissions(&mut c, admin).await.unwrap(),
            PermissionMatrix::full()
        );
        assert_eq!(companies::count(&mut c).await.unwrap(), 2);
        let (page, total) = companies::list_with_users(&mut c, &ListQuery::default())
            .await
            .unwrap();
        assert_eq!(total, 2);
        let counts: Vec<_> = page
            .iter()
            .map(|s| (s.row.code.as_str(), s.users))
            .collect();
        assert_eq!(counts, vec![("first", 0), ("second", 1)]);
        let q = ListQuery {
            q: Some("SEC".into()),
            ..Default::default()
        };
        let (page, total) = companies::list_with_users(&mut c, &q).await.unwrap();
        assert_eq!((total, page[0].row.id), (1, second.id));
        assert!(companies::rename(&mut c, second.id, "Second Co")
            .await
            .unwrap());
        assert!(!companies::rename(&mut c, 99_999, "x").await.unwrap());

        // A session and a Sub Manager of the second company work until it is disabled.
        sessions::insert(
            &mut c,
            "s2",
            admin,
            second.id,
            "csrf",
            now_millis() + 60_000,
        )
        .await
        .unwrap();
        let live = sessions::get_live(&mut c, "s2").await.unwrap().unwrap();
        assert!(!live.platform_operator);
        let host = hosts::insert_host(&mut c, second.id, "h", None, "", "cred-hash")
            .await
            .unwrap();
        let (co, h) = hosts::by_credential(&mut c, "second", "cred-hash")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((co, h.id), (second.id, host));
        assert_eq!(hosts::ids(&mut c, second.id).await.unwrap(), vec![host]);
        assert!(hosts::ids(&mut c, first.id).await.unwrap().is_empty());
        assert!(hosts::by_credential(&mut c, "first", "cred-hash")
            .await
            .unwrap()
            .is_none());

        assert!(companies::set_disabled(&mut c, second.id, true)
            .await
            .unwrap());
        assert!(sessions::get_live(&mut c, "s2").await.unwrap().is_none());
        assert!(hosts::by_credential(&mut c, "second", "cred-hash")
            .await
            .unwrap()
            .is_none());
        assert!(
            companies::get(&mut c, second.id)
                .await
                .unwrap()
                .unwrap()
                .disabled
        );
        assert!(companies::set_disabled(&mut c, second.id, false)
            .await
            .unwrap());
        assert!(sessions::get_live(&mut c, "s2").await.unwrap().is_some());
        assert_eq!(
            sessions::delete_for_company(&mut c, second.id)
                .await
                .unwrap(),
            1
        );
        assert!(sessions::get_live(&mut c, "s2").await.unwrap().is_none());
        assert_eq!(companies::user_count(&mut c, second.id).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn unsupported_database_urls_are_named() {
    let e = Store::open("mysql://x").await.unwrap_err();
    assert!(e.to_string().contains("mysql://x"));
}
