//! CreateAccount and deprovisioning (DeleteResource on a user) against the simulator: each checks
//! the simulator's state afterwards, and that repeating the call changes nothing.
use miro_connector::{
    connector::annotations::find,
    pb::{self, resources_service_client::ResourcesServiceClient},
};
use tonic::Code;

use super::{common::*, writer::*};

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
    let mut rc = ResourcesServiceClient::new(p.ch.clone());
    let mut token = String::new();
    let listed = loop {
        let page = rc
            .list_resources(pb::ResourcesServiceListResourcesRequest {
                resource_type_id: "user".into(),
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(r) = page.list.into_iter().find(|r| r.id.as_ref() == Some(&id)) {
            break r;
        }
        assert!(
            !page.next_page_token.is_empty(),
            "the new user is not listed"
        );
        token = page.next_page_token;
    };
    assert_eq!(listed, resource);

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
