import { getNamedType, type GraphQLField, type GraphQLObjectType, type GraphQLSchema, isUnionType } from 'graphql';

/**
 * The errors plugin wraps each field that declares `errors` in two generated types: the union
 * `<Parent><Field>Result` and the object `<Parent><Field>Success`, whose `data` is the field's
 * value. Pothos gives them one static description at most, so each is described here from the
 * field it belongs to, once the schema is built.
 */
export function describeResultTypes(schema: GraphQLSchema): GraphQLSchema {
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    for (const field of Object.values(root?.getFields() ?? {})) describeResult(field);
  }
  return schema;
}

function describeResult(field: GraphQLField<unknown, unknown>): void {
  const union = getNamedType(field.type);
  if (!isUnionType(union) || !union.name.endsWith('Result')) return;
  const successName = union.name.replace(/Result$/, 'Success');
  const success = union.getTypes().find((member): member is GraphQLObjectType => member.name === successName);
  if (!success) return;
  const errors = union
    .getTypes()
    .filter((member) => member !== success)
    .map((member) => member.name);
  union.description ??= `What \`${field.name}\` answers: \`${successName}\`, or one of its expected errors (${errors.join(', ')}).`;
  success.description ??= `\`${field.name}\` succeeded.`;
  const data = success.getFields().data;
  if (data) data.description ??= `What \`${field.name}\` returns.`;
}
