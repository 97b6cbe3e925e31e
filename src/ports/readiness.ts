/** What `/-/ready` reports of one backend the service depends on. */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail?: string;
}
