#ifndef HALOPSA_SERVER_ASSET_LINKER_H_
#define HALOPSA_SERVER_ASSET_LINKER_H_

#include "server/halopsa_operations.h"
#include "server/link_locks.h"

namespace halopsa {

// link_asset_to_ticket for a validated request: reads the ticket (so a
// wrong ticket id fails before any asset is created) and its linked assets
// (GET /api/Asset?ticket_id=N), and writes nothing when one of them is the
// host's. Otherwise finds the asset whose inventory_number or key_field(2,3)
// equals the hostname ignoring case (within the client/site when given):
// GET /api/Asset?inventory_number=<host> first, ?search=<host> only when
// that finds nothing; creates it when missing and allowed, and writes the
// ticket's full asset list with the asset added (HaloPSA replaces the list
// it is given). When HaloPSA answers the write with the ticket's assets,
// the link must be among them.
//
// Links to one ticket run one at a time (read-merge-write never loses
// another link's asset), and so do creates of one hostname's asset
// (concurrent links of a new host create one asset); `locks` holds both, in
// this process or for every replica, always taken ticket first.
void LinkAsset(HaloApi& api, LinkLocks& locks, const CallContext& context,
               const v1::LinkAssetToTicketRequest& request, Reply<v1::LinkAssetToTicketResponse> done);

}  // namespace halopsa

#endif  // HALOPSA_SERVER_ASSET_LINKER_H_
