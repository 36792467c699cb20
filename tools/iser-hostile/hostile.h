/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iser-hostile: a user-space iSER initiator that logs in properly and then
 * misbehaves on purpose, one scenario per run. Shared definitions.
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "iscsi_wire.h"
#include "iser_wire.h"

/* ---- options ------------------------------------------------------- */

struct opts {
	const char *target;
	const char *port;
	const char *source;
	const char *iqn;
	const char *initiator;
	const char *scenario;
	const char *expect;	/* overrides the scenario's default */
	unsigned int count;
	unsigned int parallel;
	unsigned int hold;
	unsigned int stalled;	/* login-starve: logins left hanging */
	unsigned int abort_every;
	unsigned int lun;
	uint64_t lba;
	double timeout;
	int verbose;
	const char *sizes;
	const char *session;	/* "Normal" or "Discovery" */
	/* CM private data */
	const char *pdata_hex;
	int pdata_random;	/* bytes of random private data, -1: unset */
	/* knobs of the raw scenarios; -1 / NULL: the scenario's default */
	long long iser_flags;
	long long opcode;
	long long bhs_flags;
	const char *ahs_hex;
	long long ahs_words;
	long long dlen;
	long long data_len;
	long long send_len;
	long long edtl;
	long long blocks;
	long long itt;
	long long ttt;
	long long offset;
	long long imm;
	long long final;
	const char *dir;	/* read, write, none */
	const char *stag;	/* valid, bogus, none, or a number */
	const char *va;		/* buf, wrap, or a number */
	long long mr_len;
	long long delay_us;
	const char *keys;	/* extra login keys, ';'-separated */
	int two_stage;		/* log in with a security stage first */
	unsigned int irdsl;	/* InitiatorRecvDataSegmentLength offered */
	const char *text_mode;	/* what the text scenario does */
	const char *text_data;	/* data of its second Text Request */
	const char *target_attr; /* param|acl/NAME=VALUE set on the target */
	const char *logout_then; /* what follows a Logout Request at once */
	int logout_reason;	/* the Logout Request's reason code */
	/* the fuzzer */
	bool fuzz;
	uint64_t fuzz_seed;
	uint64_t fuzz_start;	/* first sequence index */
	uint64_t fuzz_pdus;	/* stop after about this many PDUs; 0: no limit */
	double fuzz_secs;	/* stop after this long; 0: no limit */
	bool fuzz_keep;		/* keep the files of passing sequences */
	const char *conns_dir;	/* the module's debugfs connections/ */
	unsigned int conns_secs;	/* how long they may take to leave it */
	const char *record;	/* where sequences are written */
	const char *replay;	/* a sequence file to play */
};

extern struct opts o;

/* ---- log ----------------------------------------------------------- */

double now(void);
void vlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define info(...)	vlog(1, __VA_ARGS__)
#define dbg(...)	vlog(2, __VA_ARGS__)
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- RDMA connection (conn.c) -------------------------------------- */

struct rpdu {
	struct rpdu *next;
	uint32_t len;
	uint8_t buf[];		/* iSER header, BHS, rest */
};

struct conn_cfg {
	uint32_t nrx;		/* receive buffers */
	uint32_t rxsz;		/* bytes each */
	uint32_t ntx;		/* send slots */
	uint32_t txsz;		/* bytes each */
	size_t datasz;		/* RDMA data buffer */
};

enum conn_state {
	C_IDLE,
	C_ADDR,
	C_ROUTE,
	C_CONNECTING,
	C_UP,
	C_DOWN,		/* disconnected, refused or failed */
};

#define CONN_CORK_MAX	4

struct conn {
	struct rdma_event_channel *ec;
	bool own_ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	bool own_pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	unsigned int cqes_armed;	/* CQEs polled since the CQ was last armed */
	struct ibv_qp *qp;
	struct conn_cfg cfg;

	uint8_t *rxbuf;
	struct ibv_mr *rxmr;
	uint8_t *txbuf;
	struct ibv_mr *txmr;
	uint32_t txhead;
	uint32_t tx_inflight;
	uint8_t *data;
	struct ibv_mr *dmr;
	uint8_t *big;		/* oversized sends */
	struct ibv_mr *bigmr;
	size_t bigsz;

	enum conn_state state;
	bool repost;
	bool established;
	bool refused;
	bool dropped;		/* target side went away */
	bool we_disconnected;
	const char *why;	/* what ended it */
	char whybuf[128];
	bool qp_dead;		/* a work request failed: no more PDUs */
	char qpwhy[128];
	double t_qp_dead;
	double t_up;
	double t_down;
	double t_start;

	struct rpdu *q_head, *q_tail;
	uint32_t q_len;
	uint64_t rx_count;
	uint64_t tx_count;
	/* Sends held back by conn_cork(), posted as one chain by conn_uncork(). */
	struct ibv_send_wr cork_wr[CONN_CORK_MAX];
	struct ibv_sge cork_sge[CONN_CORK_MAX];
	unsigned int n_cork;
	bool corked;
	uint32_t rx_posted;
	uint32_t *rx_free;	/* consumed while not reposting */
	uint32_t n_rx_free;

	/* iSCSI */
	uint8_t isid[6];
	uint16_t tsih;
	uint16_t cid;
	uint32_t itt;
	uint32_t cmdsn;
	uint32_t exp_statsn;
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
	uint32_t nopin_pings;
	/* negotiated */
	uint32_t trdsl;		/* TargetRecvDataSegmentLength */
	uint32_t irdsl;		/* InitiatorRecvDataSegmentLength */
	uint32_t first_burst;
	uint32_t max_burst;
	bool immediate_data;
	bool initial_r2t;
	bool auto_nopin;	/* answer target NOP-In pings */
	bool auto_statsn;	/* follow StatSN from responses */

	int user;		/* scenario-private */
	struct conn *next;
};

void conn_cfg_default(struct conn_cfg *cfg);
struct rdma_event_channel *event_channel(void);
struct conn *conn_new(const struct conn_cfg *cfg, struct rdma_event_channel *ec,
		      struct ibv_pd *pd);
int conn_start(struct conn *c, const void *pdata, uint8_t pdata_len);
int conn_connect(struct conn *c, const void *pdata, uint8_t pdata_len,
		 double timeout);
int conn_handle_cm(struct conn *c, struct rdma_cm_event *ev);
int conn_accept_verbs(struct conn *c);
int conn_poll(struct conn *c, int timeout_ms);
int conn_send(struct conn *c, const void *buf, uint32_t len);
int conn_send_nowait(struct conn *c, const void *buf, uint32_t len);
void conn_cork(struct conn *c);
int conn_uncork(struct conn *c);
struct rpdu *conn_next(struct conn *c, double deadline);
void conn_resume(struct conn *c);
void conn_disconnect(struct conn *c, double timeout);
void conn_free(struct conn *c);
bool conn_alive(const struct conn *c);
const char *conn_why(const struct conn *c);
void conn_qp_failed(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void conn_mark_down(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct ibv_mr *conn_reg(struct conn *c, void *buf, size_t len);
const char *conn_dev_name(const struct conn *c);
int resolve_dst(struct sockaddr_storage *ss, const char *host, const char *port);

/* ---- iSCSI (iscsi.c) ------------------------------------------------ */

struct pdu {
	uint8_t ih[ISER_HDR_LEN];
	uint8_t bhs[BHS_LEN];
	uint8_t ahs[1024];
	uint32_t ahslen;
	const uint8_t *data;
	uint32_t datalen;
};

void pdu_init(struct pdu *p, uint8_t opcode, uint8_t flags);
uint32_t pdu_build(const struct pdu *p, uint8_t *out, uint32_t max);
int pdu_send(struct conn *c, const struct pdu *p);
int pdu_send_len(struct conn *c, const struct pdu *p, long long send_len);
const char *op_name(uint8_t op);
void pdu_note_rx(struct conn *c, const struct rpdu *r);
uint32_t next_itt(struct conn *c);

struct login_keys {
	const char *session_type;
	const char *extra;	/* ';'-separated key=value, or NULL */
	bool two_stage;		/* security stage first */
};
int login_pdu(struct conn *c, struct pdu *p, uint8_t *buf, uint32_t bufsz,
	      int csg, int nsg, bool transit, const char *keys);
int login(struct conn *c, const struct login_keys *k, double deadline,
	  char *err, size_t errlen);
int login_wait_rsp(struct conn *c, double deadline, uint8_t *cls, uint8_t *det,
		   struct rpdu **out);

struct scsi_req {
	uint8_t cdb[16];
	bool read;
	bool write;
	uint32_t edtl;
	uint32_t imm;		/* immediate data bytes */
	bool unsol;		/* send unsolicited Data-Out */
	bool final;		/* F bit; default true unless unsolicited follows */
	uint8_t *buf;		/* data (VA advertised) */
	uint32_t stag;		/* rkey advertised */
	uint64_t va;		/* VA advertised */
	bool no_stag;
	uint32_t itt;		/* out */
};

struct scsi_rsp {
	uint8_t status;
	uint8_t response;
	uint8_t flags;
	uint32_t residual;
	uint8_t sense_key;
	uint8_t asc;
	uint8_t ascq;
	bool rejected;
	uint8_t reject_reason;
};

int scsi_send(struct conn *c, struct scsi_req *r);
int scsi_wait(struct conn *c, uint32_t itt, double deadline,
	      struct scsi_rsp *rsp);
int scsi_exec(struct conn *c, struct scsi_req *r, double deadline,
	      struct scsi_rsp *rsp);
void cdb_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks);
int nop_ping(struct conn *c, double deadline);
int nop_send(struct conn *c, uint32_t itt, const uint8_t *data, uint32_t len);
bool nopin_is_ping(const uint8_t *bhs);
int nopin_answer(struct conn *c, const uint8_t *lun, uint32_t ttt);
int logout(struct conn *c, double deadline);
int tmf_send(struct conn *c, uint8_t function, uint32_t rtt, uint32_t refcmdsn,
	     uint32_t itt);
int text_send(struct conn *c, uint32_t itt, uint32_t ttt, bool imm,
	      uint32_t cmdsn, const char *text);

/* ---- scenarios (scn_*.c), run by main.c ---------------------------- */

enum outcome {
	OUT_REFUSED,	/* the connect was rejected */
	OUT_DROPPED,	/* the target tore the connection down */
	OUT_ALIVE,	/* the connection still works (NOP ping answered) */
	OUT_VERIFIED,	/* good: data written and read back equal */
	OUT_WEDGED,	/* up, but the target answers nothing any more */
	OUT_DEAD,	/* the queue pair failed, the target never disconnected */
	OUT_FAILED,	/* the target did something wrong (bad data, ...) */
	OUT_ERROR,	/* the tool could not run the scenario */
};

struct result {
	enum outcome out;
	double secs;		/* from the hostile act to the outcome */
	char detail[1024];
};

const char *outcome_name(enum outcome out);

/* scn_common.c: what several scenarios share */
extern const uint8_t iser_pdata[ISER_CM_REQ_LEN];
extern double login_done_at;

void note(struct result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void set_out(struct result *res, enum outcome out, double since);
void conn_ids(struct conn *c);
struct conn *open_conn(struct result *res, const struct conn_cfg *cfg);
int read_attr(const char *path, char *buf, size_t len);
int write_attr(const char *path, const char *val);
int target_attr_set(char *path, size_t plen, char *old, size_t olen);
struct conn *open_session(struct result *res, const struct conn_cfg *cfg);
void note_pdu(struct result *res, const struct rpdu *r);
void dropped(struct conn *c, double t_act, struct result *res);
void wait_cm_down(struct conn *c, double end, struct result *res);
void settle(struct conn *c, double t_act, struct result *res);
int rx_starve(struct conn *c, double deadline);
void serve_for(struct conn *c, double secs);
int hex_bytes(const char *hex, uint8_t *out, size_t max);
int apply_knobs(struct pdu *p, uint8_t *data, uint32_t datasz);
void fill_pattern(uint8_t *p, size_t len, uint64_t seed, uint64_t at);
uint32_t imm_len(const struct conn *c, uint32_t edtl);
int tur(struct conn *c, struct result *res);
struct conn *open_write_session(struct result *res, bool unsolicited);
void send_knobbed(struct conn *c, struct pdu *p, uint8_t *data, uint32_t datasz,
		  struct result *res);
void read_req(struct conn *c, struct scsi_req *r, uint16_t blocks);
uint32_t pending_write(struct conn *c, uint32_t edtl);

/* scn_cm.c: many connections on one event channel */
void pump(struct rdma_event_channel *ec, int ms);
void small_cfg(struct conn_cfg *cfg);
unsigned int connect_many(struct rdma_event_channel *ec, struct conn **cs,
			  unsigned int n, const struct conn_cfg *cfg);
void count_answers(struct conn **cs, unsigned int n, unsigned int *up,
		   unsigned int *refused, unsigned int *failed);
void hang_up_many(struct rdma_event_channel *ec, struct conn **cs,
		  unsigned int n);

/* The scenarios of main.c's table, by file. */
int sc_cm_pdata(struct result *res);
int sc_idle(struct result *res);
int sc_idle_hold(struct result *res);
int sc_storm(struct result *res);
int sc_listen(struct result *res);
int sc_rdma_disconnect(struct result *res);

int sc_login_raw(struct result *res);
int sc_login_stall(struct result *res);
int sc_login_starve(struct result *res);
int sc_login_csg3(struct result *r);
int sc_login_backwards(struct result *r);
int sc_login_isid(struct result *r);
int sc_login_pipelined(struct result *r);
int sc_login_junk(struct result *r);
int sc_login_noname(struct result *r);
int sc_login_target(struct result *r);
int sc_login_ct(struct result *r);
int sc_login_keys(struct result *res);

int sc_good(struct result *res);
int sc_ffp_raw(struct result *res);
int sc_scsi(struct result *res);
int sc_dataout(struct result *res);
int sc_cmdsn_overrun(struct result *res);
int sc_write_stall(struct result *res);
int sc_tmf_abort_write(struct result *res);
int sc_tmf_nonimm(struct result *res);
int sc_write_reset_other(struct result *res);
int sc_nopin_reply(struct result *res);
int sc_nopin_early(struct result *res);
int sc_keepalive_refused(struct result *res);
int sc_keepalive_silent(struct result *res);
int sc_logout_then(struct result *res);

int sc_nop_flood(struct result *res);
int sc_nop_noread(struct result *res);
int sc_tmf_noread(struct result *res);
int sc_tmf_flood(struct result *res);

int sc_text_itt(struct result *res);
int sc_text(struct result *res);

/* scn_scale.c: many logged-in sessions, for make scale */
int sc_sessions(struct result *res);

/* fuzz_run.c: --fuzz and --replay (the rest of the fuzzer is in fuzz.h) */
int fuzz_main(void);
int replay_main(void);

#endif /* HOSTILE_H */
