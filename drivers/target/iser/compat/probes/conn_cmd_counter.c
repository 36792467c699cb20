// SPDX-License-Identifier: GPL-2.0
/*
 * The per-connection command counter LIO waits on when a connection
 * closes (upstream 6.4, also in Debian's 6.1): iser_free_conn() needs it.
 */
#include <target/iscsi/iscsi_target_core.h>
#include <target/target_core_fabric.h>

void iser_probe(struct iscsit_conn *conn);
void iser_probe(struct iscsit_conn *conn)
{
	target_stop_cmd_counter(conn->cmd_cnt);
	target_wait_for_cmds(conn->cmd_cnt);
}
