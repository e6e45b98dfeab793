//! Miro's (or a proxy's) answers: decoding any bytes into the adapter's shapes fails cleanly.
#![no_main]
use libfuzzer_sys::fuzz_target;
use miro_connector::miro::models::{
    Assignment, CursorPage, GroupMember, MembersResult, OrgMember, ScimList, ScimUser, Team,
    TeamMember, TokenInfo, UserGroup,
};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<CursorPage<OrgMember>>(data);
    let _ = serde_json::from_slice::<CursorPage<Team>>(data);
    let _ = serde_json::from_slice::<CursorPage<TeamMember>>(data);
    let _ = serde_json::from_slice::<Vec<OrgMember>>(data);
    let _ = serde_json::from_slice::<ScimList>(data);
    if let Ok(u) = serde_json::from_slice::<ScimUser>(data) {
        let _ = u.org_role();
        let _ = u.admin_roles().count();
    }
    let _ = serde_json::from_slice::<TokenInfo>(data);
    let _ = serde_json::from_slice::<CursorPage<UserGroup>>(data);
    let _ = serde_json::from_slice::<CursorPage<GroupMember>>(data);
    let _ = serde_json::from_slice::<CursorPage<Assignment>>(data);
    let _ = serde_json::from_slice::<Vec<MembersResult>>(data);
});
