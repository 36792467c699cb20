/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel's <scsi/iscsi_proto.h> takes from its <scsi/scsi.h>, for
 * the host unit tests. It shadows glibc's <scsi/scsi.h>, a different file:
 * the tests build the module's protocol code against the kernel's own
 * iSCSI and iSER headers, found after the system ones (-idirafter).
 */
#ifndef ISER_SHIM_SCSI_H
#define ISER_SHIM_SCSI_H

#include <linux/types.h>

/* An 8-byte SCSI LUN, as the BHS carries it. */
struct scsi_lun {
	__u8 scsi_lun[8];
};

/* Largest variable-length CDB (SPC-4): bounds the extended-CDB AHS. */
#define SCSI_MAX_VARLEN_CDB_SIZE	260

#endif /* ISER_SHIM_SCSI_H */
