//! CreateAccount and deprovisioning (DeleteResource on a user) against the simulator: each checks
//! the simulator's state afterwards, and that repeating the call changes nothing.
use miro_connector::{connector::annotations::find, pb};
use tonic::Code;

use super::{common::*, rpc, writer::*};

#[tokio::test]
async fn create_account_then_already_exists() {
    let p = Fixture::new().writes().start().await;
    let fields = [
        ("email", "new.person+miro@example.com"),
        ("first_name", "Zoë"),
        ("last_name", "Ødegaard"),
        ("license", "basic"),
    ];
    let r = p.create(&fields).await.unwrap();
    let Some(pb::create_account_response::Result::Success(s)) = r.result else {
        panic!("expected success: {r:?}")
    };
    let resource = s.resource.unwrap();
    let id = resource.id.clone().unwrap();
    assert_eq!(id.resource_type, "user");
    assert_eq!(resource.display_name, "Zoë Ødegaard");
    let ut: pb::UserTrait = find(&resource.annotations).unwrap();
    assert_eq!(ut.login, "new.person+miro@example.com");
    let m = p.sim.org().members[&id.resource].clone();
    assert_eq!(
        (m.email.as_str(), m.license.as_str(), m.active),
        ("new.person+miro@example.com", "basic", true)
    );

    // It lists the same way ListResources lists it.
    let listed = rpc::resources(&p.ch, "user").await;
    let listed = listed.iter().find(|r| r.id.as_ref() == Some(&id));
    assert_eq!(listed, Some(&resource), "the new user is listed as created");

    let writes = p.writes();
    let r = p.create(&fields).await.unwrap();
    let Some(pb::create_account_response::Result::AlreadyExists(a)) = r.result else {
        panic!("expected already exists: {r:?}")
    };
    assert_eq!(a.resource.unwrap().id, Some(id));
    assert_eq!(p.writes(), writes);

    for (bad, what) in [
        (vec![("first_name", "A")], "email is required"),
        (vec![("email", "not-an-email")], "not a valid email"),
    ] {
        let e = p.create(&bad).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains(what), "{}", e.message());
    }
    let e = p
        .create(&[("email", "x@example.com"), ("license", "platinum")])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn create_account_needs_scim() {
    let p = Fixture::new().provisioning().start().await;
    let e = p.create(&[("email", "x@example.com")]).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("SCIM token"), "{}", e.message());
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn deprovision_deactivates_by_default() {
    let p = Fixture::new().writes().start().await;
    let org = p.sim.org();
    let user = internal_user(&org);
    let annotations = p.delete("user", &user).await.unwrap();
    assert!(!has::<pb::ResourceDoesNotExist>(&annotations));
    let m = p.sim.org().members[&user].clone();
    assert!(!m.active, "deactivated, not deleted");
    let writes = p.writes();
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete_v2("user", &user).await.unwrap()
    ));
    assert_eq!(p.writes(), writes);

    let guest = org
        .members
        .values()
        .find(|m| m.role == "organization_team_guest_user")
        .unwrap()
        .id
        .clone();
    let e = p.delete("user", &guest).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete("user", "3074457345699999999").await.unwrap()
    ));
    // A type that does not support deletion answers as baton-sdk does: UNIMPLEMENTED, saying
    // what this connector deletes. Boards and Spaces too, content access on or off.
    for (t, id) in [
        ("team", "1"),
        ("role", "organization_internal_user"),
        ("license", "full"),
        ("board", "uXjVOD6LSME="),
        ("project", "1"),
    ] {
        let e = p.delete(t, id).await.unwrap_err();
        assert_eq!(e.code(), Code::Unimplemented, "{t}: {e:?}");
        assert!(
            e.message().contains("does not support deletion")
                && e.message()
                    .contains("deletes user groups and deprovisions users"),
            "{t}: {}",
            e.message()
        );
    }
    p.daemon.shutdown().await;
}

#[tokio::test]
async fn deprovision_can_delete() {
    // The token owner is the organization's only admin, which Miro refuses to delete.
    let mut org = org(300, 6);
    let owner = org.admin_user_id.clone();
    for m in org
        .members
        .values_mut()
        .filter(|m| m.id != owner && m.role == "organization_internal_admin")
    {
        m.role = "organization_internal_user".into();
    }
    let sim = start_sim(miro_connector::sim::SimConfig::new(org.clone())).await;
    let mut args = settings(&sim, true, true);
    args.deprovision_mode = Some(miro_connector::connector::DeprovisionMode::Delete);
    let (daemon, ch) = start_daemon(&args).await;
    wait_ready(&ch).await;
    let p = Harness { sim, daemon, ch };
    let user = org
        .members
        .values()
        .find(|m| {
            m.role == "organization_internal_user"
                && org
                    .teams
                    .values()
                    .all(|t| t.members.get(&m.id).is_none_or(|tm| tm.role != "admin"))
        })
        .unwrap()
        .id
        .clone();
    p.delete("user", &user).await.unwrap();
    let after = p.sim.org();
    assert!(!after.members.contains_key(&user));
    assert!(after.teams.values().all(|t| !t.members.contains_key(&user)));
    assert!(has::<pb::ResourceDoesNotExist>(
        &p.delete("user", &user).await.unwrap()
    ));

    let e = p.delete("user", &owner).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(e.message().contains("last admin"), "{}", e.message());
    assert!(p.sim.org().members.contains_key(&owner));
    p.daemon.shutdown().await;
}

/// The account schema's license hint names exactly what CreateAccount can set: each license it
/// names creates an account holding it, and one it does not name is refused before any request.
#[tokio::test]
async fn every_license_the_account_schema_names_can_be_created() {
    let p = Fixture::new().writes().start().await;
    let meta = rpc::metadata(&p.ch).await;
    let hint = meta.account_creation_schema.unwrap().field_map["license"]
        .description
        .clone();
    let named: Vec<String> = hint
        .split("one of ")
        .nth(1)
        .and_then(|h| h.split(';').next())
        .unwrap_or_else(|| panic!("no list in {hint:?}"))
        .split(", ")
        .map(str::to_string)
        .collect();
    assert!(
        named.len() >= 4 && named.contains(&"full".to_string()),
        "{named:?}"
    );
    for (i, license) in named.iter().enumerate() {
        let email = format!("licensed.{i}@example.com");
        let r = p
            .create(&[("email", &email), ("license", license)])
            .await
            .unwrap_or_else(|e| panic!("{license}: {e}"));
        let Some(pb::create_account_response::Result::Success(s)) = r.result else {
            panic!("{license}: {r:?}")
        };
        let id = s.resource.unwrap().id.unwrap().resource;
        assert_eq!(&p.sim.org().members[&id].license, license);
    }
    p.sim.reset_stats();
    let e = p
        .create(&[("email", "unlicensed@example.com"), ("license", "unknown")])
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{}", e.message());
    assert_eq!(p.sim.stats().requests, 0);
}
