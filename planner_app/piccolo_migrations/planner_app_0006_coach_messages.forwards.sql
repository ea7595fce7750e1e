-- The coach's messages cannot be forged. End users (authenticated) write
-- only their own "user" messages and cannot give a message another role;
-- the coach backend (service_role, which bypasses row-level security)
-- writes assistant, system and tool messages. End users still read and
-- delete every message of their own sessions.
alter policy chat_message_owner_insert on public.chat_message
  with check ((select auth.uid()) = user_id and role = 'user');
alter policy chat_message_owner_update on public.chat_message
  using ((select auth.uid()) = user_id and role = 'user')
  with check ((select auth.uid()) = user_id and role = 'user');
