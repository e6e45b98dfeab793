//! The adapter's writes: an invite never applied twice, SCIM licenses and patches.

use miro_connector::{
    miro::models::TeamRole,
    sim::{FaultRule, SimConfig},
};

use super::{adapter::*, common::*};

#[tokio::test]
async fn an_invite_is_never_applied_twice() {
    // The invite lands but its answer is cut off: the adapter re-reads and does not invite again.
    let mut cfg = SimConfig::new(org(300, 6));
    let invite = "POST /v2/orgs/{org_id}/teams/{team_id}/members";
    cfg.faults = faults(FaultRule {
        endpoint: Some(invite.into()),
        truncate_rate: 1.0,
        ..Default::default()
    });
    let sim = start_sim(cfg).await;
    let org = sim.org();
    let team = org.teams.values().last().unwrap();
    let user = org
        .members
        .values()
        .find(|m| {
            m.active && m.role == "organization_internal_user" && !team.members.contains_key(&m.id)
        })
        .unwrap();
    let tm = ok_miro(&sim)
        .rest
        .invite(&org.id, &team.id, &user.id, &user.email, TeamRole::Admin)
        .await
        .unwrap();
    assert_eq!(tm.role, TeamRole::Admin);
    assert_eq!(sim.stats().requests_to(invite), 1);
    assert_eq!(sim.org().teams[&team.id].members[&user.id].role, "admin");

    // A 503 before it lands: re-read shows it did not, so it is sent again.
    sim.set_faults(faults(FaultRule {
        endpoint: Some(invite.into()),
        burst: 1,
        burst_status: Some(503),
        ..Default::default()
    }));
    let other = org
        .members
        .values()
        .find(|m| {
            m.active
                && m.role == "organization_internal_user"
                && !team.members.contains_key(&m.id)
                && m.id != user.id
        })
        .unwrap();
    ok_miro(&sim)
        .rest
        .invite(&org.id, &team.id, &other.id, &other.email, TeamRole::Member)
        .await
        .unwrap();
    assert_eq!(sim.stats().requests_to(invite), 3);
    assert_eq!(sim.org().teams[&team.id].members[&other.id].role, "member");
}

/// Miro's PatchUserResource text: "userType (license) cannot be downgraded using this operation";
/// an upgrade stamps `licenseAssignedAt`.
#[tokio::test]
async fn scim_upgrades_a_license_and_refuses_a_downgrade() {
    use miro_connector::miro::{
        ErrorKind,
        models::{License, ScimPatch},
    };
    let sim = sim_with(60, 2).await;
    let org = sim.org();
    let m = ok_miro(&sim);
    let scim = m.scim.as_ref().unwrap();
    let user = org
        .members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user" && m.license == "basic")
        .unwrap();
    scim.patch(&user.id, &[ScimPatch::License(License::Full)])
        .await
        .unwrap();
    let after = &sim.org().members[&user.id];
    assert_eq!(after.license, "full");
    assert_ne!(after.license_assigned_at, user.license_assigned_at);
    let e = scim
        .patch(&user.id, &[ScimPatch::License(License::Basic)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Rejected, "{e}");
    assert_eq!(sim.org().members[&user.id].license, "full");
}

#[tokio::test]
async fn scim_patch_operations_change_what_later_reads_return() {
    use miro_connector::miro::models::{License, OrgRole, ScimPatch};
    let sim = sim_with(60, 2).await;
    let org = sim.org();
    let m = ok_miro(&sim);
    let scim = m.scim.as_ref().unwrap();
    let user = org
        .members
        .values()
        .find(|m| m.active && m.role == "organization_internal_user" && m.license == "basic")
        .unwrap();
    let u = scim
        .patch(
            &user.id,
            &[
                ScimPatch::DisplayName("Renamed Person".into()),
                ScimPatch::License(License::Full),
                ScimPatch::PrimaryRole(OrgRole::InternalAdmin),
                ScimPatch::AddAdminRole("Security Admin".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(u.display_name.as_deref(), Some("Renamed Person"));
    assert_eq!(u.org_role(), Some(OrgRole::InternalAdmin));
    assert_eq!(u.admin_roles().collect::<Vec<_>>(), ["Security Admin"]);
    let after = m.rest.member(&org.id, &user.id).await.unwrap().unwrap();
    assert_eq!(
        (after.license.as_str(), after.role.as_str()),
        ("full", "organization_internal_admin")
    );
    assert_eq!(after.admin_roles[0].name, "Security Admin");
    scim.patch(
        &user.id,
        &[
            ScimPatch::RemoveAdminRole("Security Admin".into()),
            ScimPatch::Active(false),
        ],
    )
    .await
    .unwrap();
    let after = m.rest.member(&org.id, &user.id).await.unwrap().unwrap();
    assert!(
        !after.active && after.admin_roles.is_empty(),
        "a deactivated user lists with active: false"
    );
    assert_eq!(
        scim.users_by_ids(&[&user.id, "3074457345699999999"])
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        scim.user_by_name(&user.email).await.unwrap().unwrap().id,
        user.id
    );
}
