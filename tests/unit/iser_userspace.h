/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel names the pure protocol code uses, for building it in
 * user space for the host unit tests.
 */
#ifndef ISER_USERSPACE_H
#define ISER_USERSPACE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#endif /* ISER_USERSPACE_H */
