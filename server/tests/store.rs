//! The store on both back-ends: every test here runs on SQLite and on PostgreSQL
//! (127.0.0.1:5432), through the same code path.

mod common;

use common::both_backends;
use lwams_server::store::{companies, groups, now_millis, sessions, users, Store};
use shared::dto::ListQuery;
use shared::{Function, Level, Locale, PermissionMatrix};

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

#[tokio::test]
async fn unsupported_database_urls_are_named() {
    let e = Store::open("mysql://x").await.unwrap_err();
    assert!(e.to_string().contains("mysql://x"));
}
