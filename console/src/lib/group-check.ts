import { request } from './client.js';
import { graphql } from './graphql.js';

const EXISTS = graphql(`
  query GroupExists($name: String!) {
    userGroup(userGroup: $name) {
      __typename
    }
  }
`);

/**
 * What the form lacks before it is sent: a name and a label, and for a new group a name no group
 * has (saveUserGroup replaces a group of that name: the New group form replaced its label and schema).
 */
export async function lacking(group: string, label: string, creating: boolean): Promise<{ name?: string; label?: string }> {
  const lacks: { name?: string; label?: string } = {};
  if (!group.trim()) lacks.name = "Enter the group's name.";
  if (!label.trim()) lacks.label = 'Enter a label.';
  if (creating && !lacks.name) {
    const { userGroup } = await request(EXISTS, { name: group });
    if (userGroup.__typename === 'QueryUserGroupSuccess')
      lacks.name = `A group named ${group} exists already: open it from the groups to edit it.`;
  }
  return lacks;
}
